import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { wrapHandler } from '../../../functions/shared/middleware.js';

function context(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: 'req-1',
    functionName: 'deconvolveChunk',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;
}

describe('wrapHandler', () => {
  it('sets no early timer of its own: an overrun is Lambda’s Sandbox.Timedout, never a TimeoutError', async () => {
    // Prepare: 50 ms left, the work takes 120 ms (middy's default would throw TimeoutError at 45 ms)
    const handler = wrapHandler('deconvolveChunk', async () => {
      await new Promise((r) => setTimeout(r, 120));
      return 'done';
    });
    // Act
    const result = await handler({} as never, context(50));
    // Assess
    expect(result).toBe('done');
  });
});
