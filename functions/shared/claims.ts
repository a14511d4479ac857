/**
 * Claims of output prefixes in the usage table: item pk `OUTPUT#<bucket>/<prefix>`, sk
 * `CLAIM`, created with a conditional put, so of two executions given one outputPrefix only
 * the first proceeds (S3 itself has no lock; a DynamoDB condition is atomic). The claim is
 * deleted (conditionally on its holder) when the run publishes or fails; one left by an
 * execution that was stopped or timed out expires after RUN_TIMEOUT_HOURS + LAMBDA_MAX_MINUTES.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidInputError } from '../../lib/errors.js';
import type { RunRef } from '../../lib/job/store.js';
import { ddb } from './clients.js';
import { tableName } from './usage.js';
import { LAMBDA_MAX_MINUTES, RUN_TIMEOUT_HOURS } from './workflow.js';

interface ClaimItem extends RunRef {
  claimedAt: string;
  /** Epoch seconds after which the claim is stale. */
  expiresAt: number;
}

const claimKey = (bucket: string, prefix: string) => ({
  pk: `OUTPUT#${bucket}/${prefix}`,
  sk: 'CLAIM',
});

async function claimHolder(bucket: string, prefix: string): Promise<ClaimItem | null> {
  const out = await ddb.send(
    new GetCommand({ TableName: tableName(), Key: claimKey(bucket, prefix), ConsistentRead: true }),
  );
  return (out.Item as ClaimItem | undefined) ?? null;
}

/** Claims `prefix` for `run` (idempotent for the same run; a stale claim is taken over). */
async function claimPrefix(
  bucket: string,
  prefix: string,
  run: RunRef,
  now = new Date(),
): Promise<void> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  try {
    await ddb.send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...claimKey(bucket, prefix),
          runId: run.runId,
          executionId: run.executionId,
          account: run.account,
          claimedAt: now.toISOString(),
          expiresAt: nowSeconds + RUN_TIMEOUT_HOURS * 3600 + LAMBDA_MAX_MINUTES * 60,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR runId = :me OR expiresAt < :now',
        ExpressionAttributeValues: { ':me': run.runId, ':now': nowSeconds },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const holder = await claimHolder(bucket, prefix);
    throw new InvalidInputError(
      `outputPrefix ${prefix} is in use by execution ${holder?.runId ?? '(unknown)'} (since ${holder?.claimedAt ?? '?'}); wait for it to finish or choose another outputPrefix`,
      'OutputBusy',
      { cause: error },
    );
  }
}

/** Deletes the claim if `run` holds it. */
async function releasePrefix(bucket: string, prefix: string, run: RunRef): Promise<void> {
  try {
    await ddb.send(
      new DeleteCommand({
        TableName: tableName(),
        Key: claimKey(bucket, prefix),
        ConditionExpression: 'runId = :me',
        ExpressionAttributeValues: { ':me': run.runId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

export { claimPrefix, releasePrefix };
