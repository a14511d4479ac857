/**
 * Output names of the job (ideas-tool-contract.md §5): per input k (the user's order, zero
 * padded to 3 digits, growing past 999) five files, plus one output_metadata.json and one
 * report.html per job; with the `csv` option two more per input (exports/csv.ts).
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

/** The optional CSV exports of input k (option `csv`, exports/csv.ts). */
function csvNames(file: number): { events: string; traces: string } {
  const k = outputIndex(file);
  return { events: `neural_events.${k}.csv`, traces: `cellset_denoised.${k}.csv` };
}

/** The job's metadata file. */
const METADATA_NAME = 'output_metadata.json';

/** The job's per-cell HTML report (lib/job/report). */
const REPORT_NAME = 'report.html';

/**
 * Every output name a job over `numFiles` inputs may write, optional ones (CSV) included, so a
 * location holding any of them is refused without --overwrite whatever the options.
 */
function allOutputNames(numFiles: number): string[] {
  const names = [METADATA_NAME, REPORT_NAME];
  for (let k = 0; k < numFiles; k++) {
    const p = previewNames(k);
    const csv = csvNames(k);
    names.push(cellSetOutputName(k), eventSetOutputName(k), p.traces, p.footprints, p.events);
    names.push(csv.events, csv.traces);
  }
  return names;
}

export {
  allOutputNames,
  cellSetOutputName,
  csvNames,
  eventSetOutputName,
  METADATA_NAME,
  outputIndex,
  previewNames,
  REPORT_NAME,
};
