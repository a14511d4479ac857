/**
 * Progress reporting for `caiman-spikes run`: a cli-progress bar on a terminal, plain log lines
 * otherwise (CI, pipes), nothing with --quiet.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { JobProgress } from '../lib/job/runJob.js';

/** Receives job progress; `stop` ends the bar (call it on success and on failure). */
interface ProgressReporter {
  onProgress(event: JobProgress): void;
  stop(): void;
}

/**
 * @param stream - where to report (stderr).
 * @param quiet - report nothing.
 */
function createProgress(stream: NodeJS.WriteStream, quiet: boolean): ProgressReporter {
  if (quiet) return { onProgress: () => {}, stop: () => {} };
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        format: 'deconvolving |{bar}| {percentage}% | {value}/{total} cells | {eta_formatted} left',
        stream,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      onProgress(e) {
        if (e.kind === 'planned') {
          bar.start(e.totalCells, 0);
          started = true;
        } else if (e.kind === 'chunk') bar.update(e.cellsDone);
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let lastDecile = -1;
  const log = (s: string) => stream.write(`caiman-spikes: ${s}\n`);
  return {
    onProgress(e) {
      switch (e.kind) {
        case 'planned':
          log(
            `planned ${e.job.plan.files.length} file(s), ${e.totalCells} cells, ${e.job.plan.items.length} chunk(s)`,
          );
          break;
        case 'chunk': {
          const decile = Math.floor((10 * e.cellsDone) / e.totalCells);
          if (decile !== lastDecile) {
            lastDecile = decile;
            log(`processed ${e.cellsDone}/${e.totalCells} cells`);
          }
          break;
        }
        case 'file':
          log(
            `assembled ${e.record.outputs.cellSetName} and ${e.record.outputs.eventSetName} (${e.record.outputs.numEvents} events)`,
          );
          break;
        case 'publishing':
          log('publishing the outputs');
          break;
        case 'finalized':
          log(`published ${e.report.manifest.outputs.length} files and manifest.json`);
          break;
      }
    },
    stop() {},
  };
}

export type { ProgressReporter };
export { createProgress };
