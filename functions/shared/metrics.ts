/**
 * CloudWatch metrics in the Embedded Metric Format (Powertools Metrics): one EMF document per
 * chunk invocation, written to stdout by `logMetrics` at the end of the invocation (CloudWatch
 * Logs extracts the metrics, no API call). Namespace `CaimanSpikes`, dimension `service`.
 *
 *   ChunkCells    cells deconvolved by the invocation
 *   ChunkFrames   cells × frames processed (the work the cost model predicts)
 *   ChunkSeconds  run time of the chunk stage
 *
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';

/** CloudWatch namespace of every metric of the tool. */
const METRICS_NAMESPACE = 'CaimanSpikes';

/** Module-scope metrics buffer of one bundle (flushed per invocation by `metricsMiddleware`). */
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'caiman-spikes' });

/** What one chunk invocation did. */
interface ChunkWork {
  cells: number;
  frames: number;
  seconds: number;
}

/** Buffers the metrics of one chunk invocation. */
function recordChunkMetrics(work: ChunkWork): void {
  metrics.addMetric('ChunkCells', MetricUnit.Count, work.cells);
  metrics.addMetric('ChunkFrames', MetricUnit.Count, work.cells * work.frames);
  metrics.addMetric('ChunkSeconds', MetricUnit.Seconds, work.seconds);
}

/** The middy middleware that publishes the buffered metrics after each invocation. */
function metricsMiddleware() {
  return logMetrics(metrics);
}

export type { ChunkWork };
export { METRICS_NAMESPACE, metrics, metricsMiddleware, recordChunkMetrics };
