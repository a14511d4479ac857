/** A local job in memory for tests: runJob over a memory JobStore, chunks run in-process. */
import type { ByteSource } from '../../../lib/bytes.js';
import type { JobOptions, ToolParams } from '../../../lib/job/params.js';
import type { PlanLimits } from '../../../lib/job/plan.js';
import { type JobRuntime, runJob } from '../../../lib/job/runJob.js';
import { chunkStage, type FinalizeReport } from '../../../lib/job/stages.js';
import { type MemoryStore, memoryStore } from '../../helpers/memoryStore.js';

interface MemoryJob {
  store: MemoryStore;
  runtime: JobRuntime;
  limits: PlanLimits;
  /** Published outputs by name (manifest.json and usage.json excluded). */
  readonly outputs: Map<string, Uint8Array>;
  run(params: ToolParams, options: JobOptions): Promise<FinalizeReport>;
}

function memoryRuntime(inputs: ByteSource[], concurrency = 2): MemoryJob {
  const store = memoryStore(inputs);
  const job: MemoryJob = {
    store,
    limits: { maxCellsPerChunk: 4 },
    runtime: {
      store,
      concurrency,
      runChunk: async (record, item) => ({ result: await chunkStage(store, record, item), ms: 1 }),
    },
    get outputs() {
      return new Map(
        [...store.outputs].filter(([n]) => n !== 'manifest.json' && n !== 'usage.json'),
      );
    },
    run: (params, options) =>
      runJob(
        {
          run: { runId: 'test-run', executionId: 'local:test', account: 'test' },
          inputs: inputs.map((s) => s.name),
          params,
          options,
          limits: job.limits,
          existsHint: 'pass --overwrite',
        },
        job.runtime,
      ),
  };
  return job;
}

export type { MemoryJob };
export { memoryRuntime };
