/**
 * `caiman-spikes inspect FILE… [--json]`: a summary of each cell set or event set (lib/isxd/summary.ts).
 * Bad files print their error to stderr; the command still reports the others, then exits 2.
 */
import type { Command } from 'commander';
import { CaimanSpikesError } from '../../lib/errors.js';
import { openIsxd } from '../../lib/isxd/open.js';
import { formatSummary, type IsxdSummary, summarizeIsxd } from '../../lib/isxd/summary.js';
import { fileSource } from '../fileSource.js';

const EXIT_BAD_INPUT = 2;

async function inspectFile(path: string): Promise<IsxdSummary> {
  const source = fileSource(path);
  try {
    return await summarizeIsxd(await openIsxd(source));
  } finally {
    await source.close();
  }
}

/** Registers `caiman-spikes inspect`. */
function registerInspect(program: Command, setExit: (code: number) => void): void {
  program
    .command('inspect')
    .description(
      'summarise .isxd cell sets and event sets (cells, frames, timing, field of view, events)',
    )
    .argument('<files...>', '.isxd files to inspect')
    .option('--json', 'print a JSON array with one object per readable file')
    .action(async (files: string[], options: { json?: boolean }) => {
      const summaries: IsxdSummary[] = [];
      for (const file of files) {
        try {
          const summary = await inspectFile(file);
          summaries.push(summary);
          if (!options.json) process.stdout.write(`${formatSummary(summary)}\n`);
        } catch (err) {
          if (!(err instanceof CaimanSpikesError)) throw err;
          process.stderr.write(`caiman-spikes inspect: ${err.message}\n`);
          setExit(EXIT_BAD_INPUT);
        }
      }
      if (options.json) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
    });
}

export { registerInspect };
