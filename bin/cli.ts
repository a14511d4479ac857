/**
 * `caiman-spikes` command line: parses argv (commander) and hands each command to its module
 * in bin/commands/. Returns the process exit code: 0 ok, 1 failure, 2 bad input.
 */
import { Command, CommanderError } from 'commander';
import { CaimanSpikesError, InternalError } from '../lib/errors.js';
import packageJson from '../package.json' with { type: 'json' };
import { registerFoopsi } from './commands/foopsi.js';
import { registerInspect } from './commands/inspect.js';
import { registerRun } from './commands/run.js';

/** Exit codes of the CLI. */
const EXIT = { ok: 0, failure: 1, badInput: 2 } as const;

/** Output piped into a reader that stops early (`| head`): stop quietly, as Unix tools do. */
function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
}

async function main(argv: string[]): Promise<number> {
  // Once per process, however often main runs (the tests run it in-process).
  if (!process.stdout.listeners('error').includes(onStdoutError))
    process.stdout.on('error', onStdoutError);
  let exitCode: number = EXIT.ok;
  const program = new Command('caiman-spikes')
    .description('CaImAn spike extraction (constrained_foopsi) for Inscopix cell sets')
    .version(packageJson.version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const setExit = (code: number) => {
    exitCode = Math.max(exitCode, code);
  };
  registerRun(program, setExit);
  registerInspect(program, setExit);
  registerFoopsi(program, setExit);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT.ok;
      if (err.code === 'commander.help') return EXIT.ok;
      return EXIT.badInput;
    }
    if (err instanceof CaimanSpikesError) {
      process.stderr.write(`caiman-spikes: ${err.message}\n`);
      return EXIT.badInput;
    }
    // Not the user's input: say so, with what to report (the stack only where it helps).
    const known = err instanceof InternalError;
    process.stderr.write(
      `caiman-spikes: internal error: ${known ? err.message : ((err as Error)?.stack ?? String(err))}\n` +
        'caiman-spikes: this is a fault of caiman-spikes or its environment, not of your input; please report it with the command line and this message.\n',
    );
    return EXIT.failure;
  }
  return exitCode;
}

export { EXIT, main };
