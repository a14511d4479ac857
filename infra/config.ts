/**
 * Deployment settings read from the CDK context (cdk.json `context`, or `cdk deploy -c key=value`),
 * each with its default and its check. Synthesis fails with a message naming the key when a value
 * is not a positive integer or the settings contradict each other.
 *
 * - `chunkConcurrency`: reserved concurrency of the deconvolveChunk function. Reserved
 *   concurrency is both the function's guaranteed share and its ceiling, taken from the
 *   account's pool, which must keep at least 100 unreserved: the account's concurrency quota must
 *   exceed `chunkConcurrency` + 100 or the deployment fails.
 *   https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
 * - `chunkMapConcurrency`: MaxConcurrency of the "Deconvolve chunks" Distributed Map (child
 *   executions of one Map Run at a time; without it Step Functions runs up to 10 000), at most
 *   `chunkConcurrency`, so one run alone is never throttled.
 *   https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
 * - `fileMapConcurrency`: MaxConcurrency of the "Assemble files" Map (no reserved concurrency:
 *   assembly is short and I/O bound, it takes from the unreserved pool).
 */
import type { Node } from 'constructs';

/** The settings and their defaults (also written in cdk.json). */
interface DeploymentConfig {
  chunkConcurrency: number;
  chunkMapConcurrency: number;
  fileMapConcurrency: number;
}

const DEFAULTS: DeploymentConfig = {
  chunkConcurrency: 200,
  // Half the reserved concurrency: two runs at once never throttle each other, and a third
  // waits for slots (throttle retrier) instead of finding one run holding every slot.
  chunkMapConcurrency: 100,
  fileMapConcurrency: 50,
};

function positiveInteger(node: Node, key: keyof DeploymentConfig): number {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return DEFAULTS[key];
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`CDK context ${key} = ${JSON.stringify(raw)} must be a positive integer`);
  }
  return value;
}

/**
 * The deployment settings of a construct's app.
 * @throws Error when a value is invalid or chunkMapConcurrency > chunkConcurrency
 */
function deploymentConfig(node: Node): DeploymentConfig {
  const config: DeploymentConfig = {
    chunkConcurrency: positiveInteger(node, 'chunkConcurrency'),
    chunkMapConcurrency: positiveInteger(node, 'chunkMapConcurrency'),
    fileMapConcurrency: positiveInteger(node, 'fileMapConcurrency'),
  };
  if (config.chunkMapConcurrency > config.chunkConcurrency) {
    throw new Error(
      `CDK context chunkMapConcurrency (${config.chunkMapConcurrency}) must not exceed chunkConcurrency (${config.chunkConcurrency}), the reserved concurrency of the chunk function: the Map would throttle its own items`,
    );
  }
  return config;
}

export type { DeploymentConfig };
export { DEFAULTS as DEPLOYMENT_DEFAULTS, deploymentConfig };
