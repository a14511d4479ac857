/**
 * The chunk metrics in the Embedded Metric Format: what logMetrics writes to stdout at the end of
 * an invocation, parsed back.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { metricsMiddleware, recordChunkMetrics } from '../../../functions/shared/metrics.js';
import { wrapHandler } from '../../../functions/shared/middleware.js';

interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** Runs `fn` and returns the EMF documents written to stdout meanwhile. */
async function emfOf(fn: () => Promise<unknown>): Promise<EmfDocument[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest) => {
    lines.push(...String(chunk).split('\n'));
    return write(chunk as string, ...(rest as []));
  });
  await fn();
  vi.restoreAllMocks();
  return lines
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as EmfDocument);
}

const context = {
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

afterEach(() => vi.restoreAllMocks());

describe('chunk metrics', () => {
  it('publishes cells, cells × frames and seconds of each invocation under CaimanSpikes', async () => {
    // Prepare
    const handler = wrapHandler('deconvolveChunk', async (n: { cells: number }) => {
      recordChunkMetrics({ cells: n.cells, frames: 36_000, seconds: 1.5 });
      return 'ok';
    }).use(metricsMiddleware());
    // Act
    const docs = await emfOf(async () => {
      await handler({ cells: 466 }, context);
      await handler({ cells: 12 }, context);
    });
    // Assess
    expect(docs).toHaveLength(2);
    const [first, second] = docs;
    const meta = first._aws.CloudWatchMetrics[0];
    expect(meta.Namespace).toBe('CaimanSpikes');
    expect(meta.Dimensions).toEqual([['service']]);
    expect(meta.Metrics).toEqual([
      { Name: 'ChunkCells', Unit: 'Count' },
      { Name: 'ChunkFrames', Unit: 'Count' },
      { Name: 'ChunkSeconds', Unit: 'Seconds' },
    ]);
    expect(first).toMatchObject({
      service: 'caiman-spikes',
      ChunkCells: 466,
      ChunkFrames: 466 * 36_000,
      ChunkSeconds: 1.5,
    });
    // the buffer is flushed per invocation: the second document holds only its own values
    expect(second).toMatchObject({ ChunkCells: 12, ChunkFrames: 12 * 36_000 });
  });
});
