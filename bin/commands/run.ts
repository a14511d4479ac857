import type { Command } from 'commander';

/** Registers `caiman-spikes run` (placeholder until its issue lands). */
function registerRun(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('not implemented yet')
    .action(() => {
      process.stderr.write('caiman-spikes run: not implemented yet\n');
      setExit(1);
    });
}

export { registerRun };
