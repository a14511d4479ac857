/**
 * End-to-end (issue 13, part 4): a job file with `options.csv: true` through the synthesized
 * workflow (real handlers, s3rver + dynalite on 127.0.0.1): both CSVs of each file of a 2-file
 * series with dropped frames match the written outputs value for value, are listed in
 * manifest.json, are served as text/csv, and are byte for byte those of `caiman-spikes run --csv`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.js';
import { csvNames } from '../../lib/job/outputs.js';
import { expectCsvMatchesOutputs } from '../helpers/csvExports.js';
import { type LocalWorkflow, startWorkflow } from '../helpers/localWorkflow.js';
import type { ExecutionOutcome } from '../helpers/sfnHarness.js';
import { fixtureCellSet } from '../unit/job/fixtures.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PREFIX = 'outputs/csv-series/';
const statuses = ['accepted', 'undecided', 'rejected', 'accepted', 'undecided'] as const;

let wf: LocalWorkflow;
let dir: string;
let outcome: ExecutionOutcome;
let cliOut: string;

beforeAll(async () => {
  wf = await startWorkflow();
  dir = mkdtempSync(join(tmpdir(), 'caiman-csv-e2e-'));
  // 100 cells × 6 000 frames at 20 Hz (a traces CSV over 5 MiB: a multipart upload from the
  // sink); part 2 starts 400 s after part 1. Dropped frames in both.
  const names = Array.from({ length: 100 }, (_, i) => `cell ${i}`);
  const part = (start: number, dropped: number[]) =>
    fixtureCellSet('x', {
      numTimes: 6000,
      names,
      statuses: names.map((_, i) => statuses[i % statuses.length]),
      dropped,
      start: { num: start, den: 1 },
    });
  const inputs: string[] = [];
  for (const [k, [start, dropped]] of (
    [
      [1000, [5, 6, 5999]],
      [1400, [0, 100]],
    ] as [number, number[]][]
  ).entries()) {
    const source = await part(start, dropped);
    const bytes = await source.read(0, await source.size());
    const path = join(dir, `part${k + 1}.isxd`);
    writeFileSync(path, bytes);
    await wf.put(`inputs/csv/part${k + 1}.isxd`, bytes);
    inputs.push(path);
  }
  const job = {
    inputs: ['inputs/csv/part1.isxd', 'inputs/csv/part2.isxd'],
    options: { csv: true, acceptedOnly: 'accepted+undecided' },
    outputPrefix: PREFIX,
  };
  await wf.put('jobs/csv.json', JSON.stringify(job));
  cliOut = join(dir, 'out');
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main([
      'run',
      '--quiet',
      ...inputs,
      '--out',
      cliOut,
      '--csv',
      '--accepted-only',
      'accepted+undecided',
    ]);
    expect(code).toBe(0);
  } finally {
    vi.restoreAllMocks();
  }
  outcome = await wf.execute('csv-1', { jobFile: { key: 'jobs/csv.json' } });
}, 180_000);

afterAll(async () => {
  expect(wf.denials).toEqual([]);
  await wf?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('options.csv in a job file, through the AWS workflow', () => {
  it('succeeds, and each file’s CSVs hold its outputs value for value, times from the series start', async () => {
    // Act
    const get = async (name: string) => (await wf.get(`${PREFIX}${name}`))!;
    // Assess
    expect(outcome.status, JSON.stringify(await wf.getJson(`${PREFIX}failure.json`))).toBe(
      'SUCCEEDED',
    );
    for (const [k, offsetSeconds] of [0, 400].entries()) {
      const names = csvNames(k);
      const counts = await expectCsvMatchesOutputs({
        tracesCsv: Buffer.from(await get(names.traces)).toString('utf8'),
        eventsCsv: Buffer.from(await get(names.events)).toString('utf8'),
        cellSet: await get(`cellset_denoised.00${k}.isxd`),
        eventSet: await get(`neural_events.00${k}.isxd`),
        offsetSeconds,
      });
      // 20 rejected cells skipped (all NaN), dropped frames NaN in the 80 others
      expect(counts.nanValues).toBe(20 * 6000 + 80 * (k === 0 ? 3 : 2));
      expect(counts.events).toBeGreaterThan(1000);
    }
    expect((await get(csvNames(0).traces)).byteLength).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('lists the CSVs in manifest.json (size, SHA-256) and serves them as text/csv', async () => {
    // Act
    const manifest = await wf.getJson<{
      outputs: { name: string; size: number; sha256: string }[];
    }>(`${PREFIX}manifest.json`);
    const head = await wf.s3.send(
      new HeadObjectCommand({ Bucket: wf.local.bucket, Key: `${PREFIX}${csvNames(1).events}` }),
    );
    // Assess
    const csv = manifest!.outputs.filter((o) => o.name.endsWith('.csv'));
    expect(csv.map((o) => o.name)).toEqual([
      'cellset_denoised.000.csv',
      'cellset_denoised.001.csv',
      'neural_events.000.csv',
      'neural_events.001.csv',
    ]);
    for (const o of csv) {
      const bytes = (await wf.get(`${PREFIX}${o.name}`))!;
      expect({ size: bytes.byteLength, sha256: sha256(bytes) }).toEqual({
        size: o.size,
        sha256: o.sha256,
      });
    }
    expect(head.ContentType).toBe('text/csv');
    // report.html opens in the browser rather than downloading
    const report = await wf.s3.send(
      new HeadObjectCommand({ Bucket: wf.local.bucket, Key: `${PREFIX}report.html` }),
    );
    expect(report.ContentType).toBe('text/html; charset=utf-8');
  });

  it('writes the same CSVs as caiman-spikes run --csv, byte for byte', async () => {
    // Prepare
    const local = readdirSync(cliOut).filter((n) => n.endsWith('.csv'));
    // Act
    const cloud = (await wf.list(PREFIX)).filter((n) => n.endsWith('.csv'));
    // Assess
    expect(cloud).toEqual(local.sort());
    for (const name of local) {
      expect(sha256((await wf.get(`${PREFIX}${name}`))!), name).toBe(
        sha256(readFileSync(join(cliOut, name))),
      );
    }
  });
});
