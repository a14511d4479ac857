/**
 * Reads a run's plan.json once per container (Map tasks of one execution share it).
 */
import { InvalidInputError } from '../../lib/errors.js';
import type { StoredPlan } from '../planJob.js';
import { getJson } from './s3.js';

const cache = new Map<string, Promise<StoredPlan>>();

/** The stored plan of a run. */
function loadPlan(bucket: string, key: string): Promise<StoredPlan> {
  const id = `${bucket}/${key}`;
  let p = cache.get(id);
  if (!p) {
    p = getJson(bucket, key).then((v) => {
      if (v === null) throw new InvalidInputError(`plan ${key} does not exist`, 'MissingPlan');
      return v as StoredPlan;
    });
    p.catch(() => cache.delete(id));
    if (cache.size > 16) cache.clear();
    cache.set(id, p);
  }
  return p;
}

export { loadPlan };
