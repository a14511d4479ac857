/**
 * S3 trigger "Start from upload": `jobs/NAME.json` starts a run of that job file; a single
 * `inbox/….isxd` (any case) starts a one-file run with the default parameters; nothing under
 * `inputs/` starts a run. The execution name is
 * derived from the object (key and version id, or ETag when unversioned), and StartExecution
 * with an existing name is refused by Step Functions, so a duplicated S3 event starts one run.
 */
import { createHash } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context, S3Event } from 'aws-lambda';
import { InternalError } from '../lib/errors.js';
import { sfn } from './shared/clients.js';
import { PREFIX } from './shared/jobInput.js';
import { logger, wrapHandler } from './shared/middleware.js';

/** The part of SFNClient the trigger needs (tests bind a local runner). */
interface StartsExecutions {
  send(command: StartExecutionCommand): Promise<{ executionArn?: string }>;
}

/** What one record becomes. */
interface StartDecision {
  name: string;
  input: Record<string, unknown>;
}

/** S3 event keys are URL-encoded with '+' for spaces. */
function decodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * Execution name for an object: `<sanitised stem ≤ 48>-<16 hex of SHA-256(bucket/key#version)>`
 * (≤ 80 characters of [A-Za-z0-9_-], as Step Functions requires).
 */
function executionNameFor(bucket: string, key: string, version: string): string {
  const base = key.slice(key.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '');
  const stem = base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48) || 'run';
  const hash = createHash('sha256').update(`${bucket}/${key}#${version}`).digest('hex');
  return `${stem}-${hash.slice(0, 16)}`;
}

/** The run an uploaded object asks for, or null for keys the trigger ignores. */
function decide(
  bucket: string,
  key: string,
  versionId?: string,
  etag?: string,
): StartDecision | null {
  const version = versionId ?? etag ?? '';
  const isJob = key.startsWith(PREFIX.jobs) && key.endsWith('.json');
  // Only inbox/ starts one-file runs: parts of a series go to inputs/ and wait for their job
  // file. The S3 filter matches the prefix only, because its suffix match is case-sensitive and
  // `.ISXD` is a cell set too; this test is the one rule.
  const isInput = key.startsWith(PREFIX.inbox) && /\.isxd$/i.test(key);
  if (!isJob && !isInput) return null;
  const name = executionNameFor(bucket, key, version);
  const source = { key, ...(versionId ? { versionId } : {}), ...(etag ? { etag } : {}) };
  return isJob
    ? { name, input: { jobFile: { key, ...(versionId ? { versionId } : {}) } } }
    : { name, input: { inputs: [key], source } };
}

/**
 * Starts one execution per accepted record; a name that already exists counts as a duplicate.
 * @param event - the S3 notification
 * @param client - Step Functions client
 */
async function startFromUpload(event: S3Event, client: StartsExecutions = sfn) {
  const stateMachineArn = process.env.STATE_MACHINE_ARN;
  if (!stateMachineArn) {
    throw new InternalError('environment variable STATE_MACHINE_ARN is not set', 'Config');
  }
  const started: string[] = [];
  const duplicates: string[] = [];
  const ignored: string[] = [];
  for (const record of event.Records) {
    const key = decodeKey(record.s3.object.key);
    const d = decide(record.s3.bucket.name, key, record.s3.object.versionId, record.s3.object.eTag);
    if (!d) {
      ignored.push(key);
      continue;
    }
    try {
      await client.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: d.name,
          input: JSON.stringify(d.input),
        }),
      );
      started.push(d.name);
      logger.info('execution started', { key, executionName: d.name });
    } catch (error) {
      if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
      duplicates.push(d.name);
      logger.info('duplicate event: execution already exists', { key, executionName: d.name });
    }
  }
  return { started, duplicates, ignored };
}

const handler = wrapHandler('startFromUpload', (event: S3Event, _context: Context) =>
  startFromUpload(event),
);

export type { StartDecision, StartsExecutions };
export { decide, decodeKey, executionNameFor, handler, startFromUpload };
