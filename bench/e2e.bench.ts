/**
 * `npm run bench:e2e`: the whole `caiman-spikes run` job on two generated cell sets, each run in a
 * child process (the CLI's `main`, as `npx caiman-spikes run` runs it) so its peak RSS is its own:
 *
 *   A: 200 cells × 36 000 frames, 16×16 footprints;
 *   B: 1 000 cells × 36 000 frames, 64×64 footprints.
 *
 * Traces come from CaImAn's test generator (test/helpers/genData.ts, AR(1) g = 0.95, sn 0.3,
 * baseline 10, 0.5 Hz at 30 Hz); B reuses A's 200 traces five times (generating 36 M samples
 * would dominate the bench). Printed: job wall time inside the child, child wall time (with Node
 * and tsx start-up), peak RSS, and two ratios to baselines measured in the same run: the bare
 * engine (constrainedFoopsi over the same traces on one thread, in this process; B's is five
 * times A's) and one sequential read of the input file. job / engine < 1 means the worker
 * threads gained more than the job's I/O, assembly and previews cost. Goals (issue 4): A under
 * 1.5 s on a 2-core machine, B under 300 MB peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fileSink } from '../bin/fileSource.js';
import { constrainedFoopsi } from '../lib/deconvolution/constrainedFoopsi.js';
import { createCellSetWriter } from '../lib/isxd/index.js';
import { genBenchTraces } from '../test/helpers/genData.js';

const T = 36_000;

interface ChildReport {
  code: number;
  jobSeconds: number;
  maxRssMb: number;
}

/** Child mode: run the CLI once and report its time and peak RSS as JSON on stdout. */
async function child(args: string[]): Promise<void> {
  const { main } = await import('../bin/cli.js');
  const t0 = performance.now();
  const code = await main(['run', '--quiet', ...args]);
  const jobSeconds = (performance.now() - t0) / 1000;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `\n${JSON.stringify({ code, jobSeconds, maxRssMb } satisfies ChildReport)}\n`,
  );
}

async function writeSet(
  path: string,
  numCells: number,
  side: number,
  traces: Float32Array[],
): Promise<void> {
  const writer = createCellSetWriter(fileSink(path), {
    timing: { numTimes: T, period: { num: 1, den: 30 } },
    spacing: { numPixels: { x: side, y: side } },
  });
  const footprint = new Float32Array(side * side);
  for (let i = 0; i < numCells; i++) {
    footprint.fill(0);
    const cx = (i * 7) % side;
    const cy = (i * 3) % side;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 8);
        footprint[y * side + x] = v > 0.05 ? v : 0;
      }
    }
    await writer.addCell(footprint, traces[i % traces.length]);
  }
  await writer.finish();
}

function readThrough(path: string): number {
  const t0 = performance.now();
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
  return (performance.now() - t0) / 1000;
}

function runChild(input: string, out: string): { report: ChildReport; wallSeconds: number } | null {
  const self = fileURLToPath(import.meta.url);
  const t0 = performance.now();
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', self, '--child', input, '--out', out],
    {
      cwd: join(fileURLToPath(new URL('.', import.meta.url)), '..'),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  const last = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !last.startsWith('{')) {
    process.stderr.write(`child run failed with status ${res.status}\n${res.stderr}`);
    return null;
  }
  return { report: JSON.parse(last) as ChildReport, wallSeconds };
}

async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'caiman-e2e-'));
  try {
    const tGen = performance.now();
    const traces = genBenchTraces(1, 200, T);
    const sets = [
      {
        name: 'A: 200 cells × 36 000 frames, 16×16',
        path: join(dir, 'a.isxd'),
        cells: 200,
        side: 16,
        goal: 'wall < 1.5 s',
      },
      {
        name: 'B: 1 000 cells × 36 000 frames, 64×64',
        path: join(dir, 'b.isxd'),
        cells: 1000,
        side: 64,
        goal: 'RSS < 300 MB',
      },
    ];
    for (const s of sets) await writeSet(s.path, s.cells, s.side, traces);
    console.log(`generated inputs in ${((performance.now() - tGen) / 1000).toFixed(1)} s (${dir})`);
    const tEngine = performance.now();
    for (const y of traces) constrainedFoopsi(y, {});
    const engine = (performance.now() - tEngine) / 1000;
    console.log(
      `engine baseline: constrainedFoopsi on the 200 traces, one thread: ${engine.toFixed(2)} s`,
    );
    console.log(
      'set                                    job (s)  child (s)  peak RSS (MB)  job / engine  read pass (s)  job / read   goal',
    );
    for (const s of sets) {
      const read = readThrough(s.path);
      const result = runChild(s.path, join(dir, `out-${s.cells}`));
      if (result === null) {
        process.exitCode = 1;
        continue;
      }
      const { report, wallSeconds } = result;
      console.log(
        [
          s.name.padEnd(38),
          report.jobSeconds.toFixed(2).padStart(7),
          wallSeconds.toFixed(2).padStart(9),
          report.maxRssMb.toFixed(0).padStart(13),
          (report.jobSeconds / ((engine * s.cells) / 200)).toFixed(2).padStart(12),
          read.toFixed(3).padStart(13),
          `${(report.jobSeconds / read).toFixed(0)}×`.padStart(10),
          `  ${s.goal}`,
        ].join('  '),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv.slice(1));
else await bench();
