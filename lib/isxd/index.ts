/** Public API of the `.isxd` library (docs/isxd-format.md): cell sets, event sets, footer JSON. */
export type {
  CellMeta,
  CellMetrics,
  CellRecord,
  CellSetHeader,
  CellSetHeaderInput,
  CellSetReader,
  CellSetWriter,
  SpacingInput,
  TimingInput,
} from './cellSet.js';
export {
  buildCellSetFooter,
  CELL_SET_FILE_VERSION,
  CELL_SET_TYPE,
  createCellSetWriter,
  decodeCellSetHeader,
  defaultCellName,
  openCellSet,
} from './cellSet.js';
export type { ContainerFooter } from './container.js';
export { encodeFooter, readFooter } from './container.js';
export {
  EVENT_PACKET_BYTES,
  EVENT_PACKET_WORDS,
  EventPacketWriter,
  eventPacketWords,
  PACKET_WORD,
  packetChannel,
  packetOffset,
} from './eventPackets.js';
export type {
  EventCell,
  EventSetHeader,
  EventSetHeaderInput,
  EventSetReader,
  EventSetTiming,
  EventSetWriter,
} from './eventSet.js';
export {
  buildEventSetFooter,
  createEventSetWriter,
  EVENT_SET_FILE_VERSION,
  EVENT_SET_TYPE,
  eventSetEndTime,
  eventSetTiming,
  openEventSet,
} from './eventSet.js';
export type { JsonValue } from './json.js';
export {
  bigintToPlain,
  dumpJson,
  formatDouble15g,
  jsonArray,
  jsonBool,
  jsonEqual,
  jsonFloat,
  jsonInt,
  jsonNull,
  jsonObject,
  jsonString,
  parseJson,
  toPlain,
} from './json.js';
export type { IsxdReader } from './open.js';
export { openIsxd } from './open.js';
export type { AnyRatio, PlainRatio } from './rational.js';
export {
  addRatios,
  ceilQuotient,
  compareRatios,
  exactRatio,
  frameOffsetMicros,
  gcd,
  plainRatio,
  ratio,
  ratioSign,
  ratioToNumber,
  reduceRatio,
  scaleRatio,
  subtractRatios,
  toRatio,
} from './rational.js';
export type {
  CellStatus,
  CroppedRange,
  IsxdTime,
  Ratio,
  RatioLike,
  SpacingInfo,
  TimingInfo,
} from './types.js';
export {
  CELL_STATUSES,
  cellStatusCode,
  DEFAULT_CELL_COLOR,
  DEFAULT_PRODUCER,
  invalidFrameIndices,
  invalidFrameMask,
  normalizeTiming,
} from './types.js';
