import type { Command } from 'commander';

/** Registers `caiman-spikes foopsi` (placeholder until its issue lands). */
function registerFoopsi(program: Command, setExit: (code: number) => void): void {
  program
    .command('foopsi')
    .description('not implemented yet')
    .action(() => {
      process.stderr.write('caiman-spikes foopsi: not implemented yet\n');
      setExit(1);
    });
}

export { registerFoopsi };
