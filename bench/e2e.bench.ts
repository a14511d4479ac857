/**
 * `npm run bench:e2e`: the whole `caiman-spikes run` job on generated cell sets, each run in a
 * child process exactly as a user runs it (`node bin/caiman-spikes.mjs run …` on the dist/ build
 * the script makes first) so its wall time and peak RSS are its own:
 *
 *   A: 200 cells × 36 000 frames, 16×16 footprints (with all cores, and with `--workers 1`);
 *   B: 1 000 cells × 36 000 frames, 64×64 footprints;
 *   C: 10 000 cells × 36 000 frames, 16×16 footprints (1.45 GB, streamed to a temp file cell by
 *      cell, never held in memory; run once).
 *
 * Traces come from CaImAn's test generator (test/helpers/genData.ts, AR(1) g = 0.95, sn 0.3,
 * baseline 10, 0.5 Hz at 30 Hz): A's 200 traces are the very ones CaImAn was timed on
 * (deconvolution-performance-anchor.md); B and C reuse them cyclically. Printed per set: job time
 * inside the child, child wall time (Node start-up to exit), peak RSS, the goal next to each
 * ratio, every run, and where the child's time went (start-up to planned, deconvolution to the
 * last chunk, the file's assembly, previews, metadata and report fragment after it, finalize and
 * publish, exit; from its progress lines, timestamped by a preloaded hook).
 *
 * CaImAn's side, scaled to this machine's speed now. CaImAn cannot run here, so its pipeline time
 * on set A comes from its recorded measurement: CAIMAN_PIPELINE_S, the whole process (CaImAn
 * + an isxd reader/writer, per-trace loop 5.30 s in the anchor table) measured side by side with
 * this project on the 2-core VM (issue 14: 6.8–7.2 s; the fastest is used). The VM's speed drifts
 * with its neighbours' load by up to 2×, so the bench re-times a fixed reference workload in the
 * same run (report.ts referencePass: one float32 O(T) pass over set A's 200 traces, the AR(1)
 * residual energy, single-threaded as CaImAn is) and scales CaImAn's time by how much slower
 * (or faster) the reference runs now than on the calibration day:
 *
 *   CaImAn now ≈ CAIMAN_PIPELINE_S · reference now / REFERENCE_CALIBRATION_S.
 *
 * The anchor recorded no reference workload, so REFERENCE_CALIBRATION_S is this bench's own
 * measurement on the same VM on the day it was defined (its date below, the best of the bench's
 * rounds then), taken to stand for the machine's speed when CaImAn was timed (the same VM size,
 * days apart). The reference is timed in best-of rounds before and after the runs, and the
 * fastest round is used: the smallest CaImAn estimate, so the ratios err on CaImAn's side.
 * Children are compared by their fastest run (least disturbed by the neighbours), the peak RSS
 * by the largest of all runs.
 *
 * Start-up: `caiman-spikes --version` and `node -e 0` are timed as child processes, alternating,
 * and the fastest of each is reported (goal ≤ 0.1 s).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fileSink } from '../bin/fileSource.js';
import { createCellSetWriter } from '../lib/isxd/index.js';
import { genBenchTraces } from '../test/helpers/genData.js';
import { machineFactor, timeReference } from './report.js';

const T = 36_000;
/** Child runs per set (C: one); the fastest is reported (every run's wall time and RSS are printed). */
const RUNS = 3;
/** CaImAn + isxd reader/writer on set A, whole process, the fastest measured (issue 14). */
const CAIMAN_PIPELINE_S = 6.8;
/** Start-up timings per command (alternating). */
const STARTUP_RUNS = 10;

interface ChildReport {
  jobSeconds: number;
  maxRssMb: number;
  /** Seconds since the child started at which each progress step was logged. */
  phases: {
    planned: number;
    deconvolved: number;
    assembled: number;
    finalized: number;
    exit: number;
  };
}

interface Run {
  report: ChildReport;
  wallSeconds: number;
}

/**
 * Preloaded into the child: timestamps its progress lines (seconds since process start) and
 * prints its peak RSS at exit.
 */
const HOOK = `data:text/javascript,${encodeURIComponent(
  [
    'const write = process.stderr.write.bind(process.stderr);',
    "const stamp = () => '[' + performance.now() / 1000 + '] ';",
    "process.stderr.write = (s, ...rest) => write(typeof s === 'string' ? stamp() + s : s, ...rest);",
    "process.on('exit', () => write(stamp() + 'exit ' + process.resourceUsage().maxRSS / 1024 + '\\n'));",
  ].join('\n'),
)}`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAUNCHER = join(ROOT, 'bin', 'caiman-spikes.mjs');

/** Writes a cell set cell by cell (the writer streams to the file; nothing is held). */
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

function runChild(input: string, out: string, extra: string[] = []): Run | null {
  const t0 = performance.now();
  const res = spawnSync(
    process.execPath,
    ['--import', HOOK, LAUNCHER, 'run', input, '--out', out, ...extra],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  const job = /events in ([0-9.]+) s/.exec(res.stdout);
  const at = (pattern: RegExp) => {
    const line = res.stderr.split('\n').find((l) => pattern.test(l));
    return line === undefined ? Number.NaN : Number(/^\[([0-9.]+)\]/.exec(line)?.[1]);
  };
  const exit = /\] exit ([0-9.]+)/.exec(res.stderr);
  if (res.status !== 0 || job === null || exit === null) {
    process.stderr.write(`child run failed with status ${res.status}\n${res.stderr}`);
    return null;
  }
  return {
    report: {
      jobSeconds: Number(job[1]),
      maxRssMb: Number(exit[1]),
      phases: {
        planned: at(/caiman-spikes: planned/),
        deconvolved: at(/caiman-spikes: processed (\d+)\/\1 cells/),
        assembled: at(/caiman-spikes: assembled cellset_denoised/),
        finalized: at(/caiman-spikes: published/),
        exit: at(/\] exit /),
      },
    },
    wallSeconds,
  };
}

/** Fastest child wall time of `args` over `runs` (seconds), every run. */
function timeCommand(args: string[]): number {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${args.join(' ')} failed: ${res.stderr}`);
  return (performance.now() - t0) / 1000;
}

const s2 = (x: number) => x.toFixed(2);
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

interface SetSpec {
  key: string;
  name: string;
  path: string;
  cells: number;
  side: number;
  runs: number;
  extra?: string[];
}

function runSet(s: SetSpec, dir: string): Run[] {
  const runs: Run[] = [];
  for (let i = 0; i < s.runs; i++) {
    const out = join(dir, `out-${s.key}-${i}`);
    const run = runChild(s.path, out, s.extra);
    if (run !== null) runs.push(run);
    rmSync(out, { recursive: true, force: true });
  }
  if (runs.length < s.runs) process.exitCode = 1;
  return runs;
}

function printSet(s: SetSpec, runs: Run[], goals: string[]): Run | null {
  if (runs.length === 0) return null;
  const best = runs.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a));
  const rss = Math.max(...runs.map((r) => r.report.maxRssMb));
  console.log(
    `${s.name}: child ${s2(best.wallSeconds)} s (job ${s2(best.report.jobSeconds)} s), peak RSS ${rss.toFixed(0)} MB`,
  );
  console.log(
    `  runs (wall s): ${runs.map((r) => s2(r.wallSeconds)).join(', ')}; peak RSS (MB): ${runs.map((r) => r.report.maxRssMb.toFixed(0)).join(', ')}`,
  );
  const p = best.report.phases;
  const d = (a: number, b: number) => s2(b - a);
  console.log(
    `  phases: start-up + plan ${s2(p.planned)} s, deconvolution ${d(p.planned, p.deconvolved)} s, assembly + previews + metadata + report fragment after the last chunk ${d(p.deconvolved, p.assembled)} s, finalize + publish ${d(p.assembled, p.finalized)} s, exit ${d(p.finalized, p.exit)} s`,
  );
  for (const g of goals) console.log(`  ${g}`);
  return best;
}

async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'caiman-e2e-'));
  try {
    const tGen = performance.now();
    const traces = genBenchTraces(1, 200, T);
    const sets: SetSpec[] = [
      {
        key: 'a',
        name: 'A: 200 cells × 36 000 frames, 16×16',
        path: join(dir, 'a.isxd'),
        cells: 200,
        side: 16,
        runs: RUNS,
      },
      {
        key: 'a1',
        name: 'A with --workers 1',
        path: join(dir, 'a.isxd'),
        cells: 200,
        side: 16,
        runs: RUNS,
        extra: ['--workers', '1'],
      },
      {
        key: 'b',
        name: 'B: 1 000 cells × 36 000 frames, 64×64',
        path: join(dir, 'b.isxd'),
        cells: 1000,
        side: 64,
        runs: RUNS,
      },
      {
        key: 'c',
        name: 'C: 10 000 cells × 36 000 frames, 16×16 (streamed input, one run)',
        path: join(dir, 'c.isxd'),
        cells: 10_000,
        side: 16,
        runs: 1,
      },
    ];
    for (const s of sets)
      if (s.extra === undefined) await writeSet(s.path, s.cells, s.side, traces);
    console.log(`generated inputs in ${((performance.now() - tGen) / 1000).toFixed(1)} s (${dir})`);

    // Start-up, alternating (a warm-up call of each first: the page cache).
    timeCommand([LAUNCHER, '--version']);
    timeCommand(['-e', '0']);
    const version: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      version.push(timeCommand([LAUNCHER, '--version']));
      bare.push(timeCommand(['-e', '0']));
    }
    const v = Math.min(...version);
    const b = Math.min(...bare);
    console.log(
      `start-up: caiman-spikes --version ${v.toFixed(3)} s, node -e 0 ${b.toFixed(3)} s (fastest of ${STARTUP_RUNS} each): ${(v / b).toFixed(2)}× bare node; goal ≤ 0.1 s: ${verdict(v <= 0.1)}`,
    );

    const refBefore = timeReference(traces);
    const results = new Map<string, Run[]>();
    for (const s of sets) results.set(s.key, runSet(s, dir));
    const refAfter = timeReference(traces);
    const { factor: scale, line } = machineFactor([...refBefore, ...refAfter]);
    const caiman = CAIMAN_PIPELINE_S * scale;
    console.log(
      `${line} (before the runs ${(1000 * Math.min(...refBefore)).toFixed(2)}, after ${(1000 * Math.min(...refAfter)).toFixed(2)} ms)`,
    );
    console.log(
      `CaImAn's pipeline on set A, scaled to now: ${CAIMAN_PIPELINE_S} s × ${scale.toFixed(2)} = ${s2(caiman)} s`,
    );
    const [A, A1, B, C] = sets;
    const a = printSet(A, results.get('a') ?? [], []);
    const a1 = printSet(A1, results.get('a1') ?? [], []);
    if (a !== null && a1 !== null) {
      const r = caiman / a.wallSeconds;
      const r1 = caiman / a1.wallSeconds;
      console.log(
        `  CaImAn / this project on set A: ${r.toFixed(1)}× (goal ≥ 8×: ${verdict(r >= 8)}); with --workers 1: ${r1.toFixed(1)}× (goal ≥ 4×: ${verdict(r1 >= 4)})`,
      );
    }
    const bRuns = results.get('b') ?? [];
    const bb = printSet(B, bRuns, []);
    if (bb !== null) {
      const rss = Math.max(...bRuns.map((r) => r.report.maxRssMb));
      console.log(
        `  goals: wall < 2 s: ${verdict(bb.wallSeconds < 2)}; peak RSS ≤ 150 MB: ${verdict(rss <= 150)}`,
      );
    }
    const cRuns = results.get('c') ?? [];
    if (printSet(C, cRuns, []) !== null) {
      const rss = Math.max(...cRuns.map((r) => r.report.maxRssMb));
      console.log(`  goal: peak RSS ≤ 300 MB: ${verdict(rss <= 300)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await bench();
