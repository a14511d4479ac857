import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';
import {
  ARM64_SAFETY_FACTOR,
  CHUNK_BUDGET_SECONDS,
  CHUNK_OVERHEAD_SECONDS,
  LOCAL_CHUNK_OVERHEAD_SECONDS,
  traceSeconds,
} from '../../../lib/job/costModel.js';
import { parseToolParams } from '../../../lib/job/params.js';
import { CREDITS_PER_COMPUTE_HOUR } from '../../../lib/job/usage.js';
import { captureOutput } from '../../helpers/captureOutput.js';
import { writeFooterOnlyFile } from '../job/footerOnly.js';

let dir: string;
let stdout: string[];
let stderr: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caiman-dry-'));
  ({ stdout, stderr } = captureOutput());
});

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** A 2 000-cell × T-frame cell set as a sparse file (the plan reads its footer only). */
async function bigFile(cells: number, T: number): Promise<string> {
  const path = join(dir, 'big.isxd');
  await writeFooterOnlyFile(path, cells, T);
  return path;
}

describe('caiman-spikes run --dry-run', () => {
  it('2 000 cells × 36 000 frames, cvxpy SCS,ECOS: every chunk under the budget, nothing written', async () => {
    // Arrange
    const file = await bigFile(2000, 36000);
    const out = join(dir, 'out');
    const params = parseToolParams({ method_deconvolution: 'cvxpy', solvers: 'SCS,ECOS' });
    const lambdaTrace = traceSeconds(params, 36000, ARM64_SAFETY_FACTOR);
    const localTrace = traceSeconds(params, 36000);
    const lambdaTotal = 1000 * (CHUNK_OVERHEAD_SECONDS + 2 * lambdaTrace);
    // local: ⌊295 / 33.5⌋ = 8 cells per chunk (the 2 MiB limit allows 14): 250 chunks
    const localTotal = 250 * (LOCAL_CHUNK_OVERHEAD_SECONDS + 8 * localTrace);

    // Act
    const code = await main([
      'run',
      file,
      '--out',
      out,
      '--method-deconvolution',
      'cvxpy',
      '--solvers',
      'SCS,ECOS',
      '--dry-run',
      '--json',
    ]);

    // Assess
    expect(code).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['big.isxd']);
    const report = JSON.parse(stdout.join(''));
    const [local, lambda] = report.targets;
    expect(report.budgetSeconds).toBe(CHUNK_BUDGET_SECONDS);
    expect(lambda).toMatchObject({
      target: 'lambda',
      chunks: 1000,
      hardBudget: true,
      refusal: null,
    });
    expect(lambda.maxChunkSeconds).toBeLessThanOrEqual(CHUNK_BUDGET_SECONDS);
    expect(lambda.totalSeconds).toBeCloseTo(lambdaTotal, 0);
    expect(lambda.credits).toBeCloseTo((lambdaTotal / 3600) * CREDITS_PER_COMPUTE_HOUR, 3);
    expect(local).toMatchObject({ target: 'local', chunks: 250, hardBudget: false });
    expect(local.totalSeconds).toBeCloseTo(localTotal, 0);
  });

  it('prints the plan as text for both targets', async () => {
    // Arrange
    const file = await bigFile(2000, 36000);

    // Act
    const code = await main(['run', file, '--out', join(dir, 'out'), '--dry-run']);

    // Assess: oasis p = 1: 64 MiB chunks of 465 cells on Lambda, 2 MiB chunks of 14 locally
    expect(code).toBe(0);
    const text = stdout.join('');
    expect(text).toMatch(/^Dry run \(nothing written; p = 1, oasis\):/);
    expect(text).toMatch(/Plan for this machine: 143 chunk\(s\)/);
    expect(text).toMatch(
      /Plan for AWS Lambda \(arm64, predictions × 3 .*\): 5 chunk\(s\), .*\(4 × \d+\.\d s, 1 × \d+\.\d s\)/,
    );
    expect(text).toMatch(/credits \(0\.5 per compute hour\); budget 300 s per chunk \(hard/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('a trace over the Lambda budget: the Lambda plan is refused naming solvers, exit 0', async () => {
    // Arrange: SCS on 100 000 frames
    const file = await bigFile(3, 100000);

    // Act
    const code = await main([
      'run',
      file,
      '--out',
      join(dir, 'out'),
      '--method-deconvolution',
      'cvxpy',
      '--solvers',
      'SCS,ECOS',
      '--dry-run',
    ]);

    // Assess
    expect(code).toBe(0);
    const text = stdout.join('');
    expect(text).toMatch(/Plan for this machine: 3 chunk\(s\)/);
    expect(text).toMatch(
      /Plan for AWS Lambda .*: REFUSED, budget 300 s .*parameter solvers = .*SCS,ECOS.* is invalid: .*big\.isxd \(100000 frames\) is predicted to take \d+ s .*use solvers 'ECOS,SCS'/,
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('an invalid local plan exits 2', async () => {
    // Arrange
    const file = await bigFile(3, 1000);

    // Act
    const code = await main([
      'run',
      file,
      '--out',
      join(dir, 'out'),
      '--lags',
      '5000',
      '--dry-run',
    ]);

    // Assess
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/parameter lags = 5000 is invalid/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
