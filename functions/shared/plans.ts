/**
 * The job record of a run, read once per container (the Map tasks of one execution share it).
 */
import { type JobRecord, loadJob } from '../../lib/job/stages.js';
import type { JobStore } from '../../lib/job/store.js';

const cache = new Map<string, Promise<JobRecord>>();

/** The job record of `executionName`, through its store. */
function cachedJob(executionName: string, store: JobStore): Promise<JobRecord> {
  let p = cache.get(executionName);
  if (!p) {
    p = loadJob(store);
    p.catch(() => cache.delete(executionName));
    if (cache.size > 16) cache.clear();
    cache.set(executionName, p);
  }
  return p;
}

export { cachedJob };
