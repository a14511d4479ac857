import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { runCases } from '../../lib/deconvolution/cases.js';
import { InvalidInputError } from '../../lib/errors.js';

/**
 * `caiman-spikes foopsi --cases FILE [--out FILE]`: runs constrained_foopsi on every case of a
 * golden-schema file and writes `{"results": [...]}` in case order (stdout without --out).
 * A failing case is a result with `ok: false`; the command only fails on an unreadable file.
 */
function registerFoopsi(program: Command, setExit: (code: number) => void): void {
  program
    .command('foopsi')
    .description(
      'run constrained_foopsi on cases in the golden schema ({cases: [{id, trace, dtype, params}]})',
    )
    .requiredOption('--cases <file>', 'JSON file with a "cases" array')
    .option('--out <file>', 'where to write {"results": [...]} (default: stdout)')
    .action(async (opts: { cases: string; out?: string }) => {
      let text: string;
      try {
        text = await readFile(opts.cases, 'utf8');
      } catch (err) {
        throw new InvalidInputError(
          `${opts.cases}: cannot read the cases file (${(err as Error).message})`,
        );
      }
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new InvalidInputError(`${opts.cases}: not valid JSON (${(err as Error).message})`);
      }
      const output = `${JSON.stringify(runCases(doc))}\n`;
      if (opts.out === undefined) {
        process.stdout.write(output);
      } else {
        const tmp = `${opts.out}.partial-${process.pid}`;
        await writeFile(tmp, output);
        await rename(tmp, opts.out);
      }
      setExit(0);
    });
}

export { registerFoopsi };
