import type { Command } from 'commander';

/** Registers `caiman-spikes inspect` (placeholder until its issue lands). */
function registerInspect(program: Command, setExit: (code: number) => void): void {
  program
    .command('inspect')
    .description('not implemented yet')
    .action(() => {
      process.stderr.write('caiman-spikes inspect: not implemented yet\n');
      setExit(1);
    });
}

export { registerInspect };
