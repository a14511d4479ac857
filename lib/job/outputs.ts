/**
 * Output names of the job (ideas-tool-contract.md §5): per input k (the user's order, zero
 * padded to 3 digits, growing past 999) five files, plus one output_metadata.json and one
 * report.html per job.
 */

/** `kkk`: the output index, zero-padded to 3 digits. */
function outputIndex(file: number): string {
  return String(file).padStart(3, '0');
}

/** `cellset_denoised.kkk.isxd` */
function cellSetOutputName(file: number): string {
  return `cellset_denoised.${outputIndex(file)}.isxd`;
}

/** `neural_events.kkk.isxd` */
function eventSetOutputName(file: number): string {
  return `neural_events.${outputIndex(file)}.isxd`;
}

/** The three SVG previews of input k. */
function previewNames(file: number): { traces: string; footprints: string; events: string } {
  const k = outputIndex(file);
  return {
    traces: `traces_cellset_denoised.${k}.svg`,
    footprints: `footprints_cellset_denoised.${k}.svg`,
    events: `preview_neural_events.${k}.svg`,
  };
}

/** The job's metadata file. */
const METADATA_NAME = 'output_metadata.json';

/** The job's per-cell HTML report (lib/job/report). */
const REPORT_NAME = 'report.html';

/** Every output name of a job over `numFiles` inputs (to check for existing outputs first). */
function allOutputNames(numFiles: number): string[] {
  const names = [METADATA_NAME, REPORT_NAME];
  for (let k = 0; k < numFiles; k++) {
    const p = previewNames(k);
    names.push(cellSetOutputName(k), eventSetOutputName(k), p.traces, p.footprints, p.events);
  }
  return names;
}

export {
  allOutputNames,
  cellSetOutputName,
  eventSetOutputName,
  METADATA_NAME,
  outputIndex,
  previewNames,
  REPORT_NAME,
};
