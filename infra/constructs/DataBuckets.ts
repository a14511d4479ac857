/**
 * The data bucket (inputs/, jobs/, work/, outputs/) and its access-log bucket. Both are
 * encrypted, TLS-only and fully private; the data bucket is versioned (an input's version is
 * part of its run's name) and expires intermediates under work/ after 7 days. Access is granted
 * per prefix and action, never on the whole bucket.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DATA_PREFIXES } from '../../functions/shared/workflow.js';

/** Days before work/ objects (plans, chunk parts) expire. */
const WORK_EXPIRATION_DAYS = 7;

/** Object-level actions a grant may name. */
type ObjectAccess = 'read' | 'readVersion' | 'write' | 'delete';

/**
 * `readVersion`: a GetObject or HeadObject that names a VersionId needs s3:GetObjectVersion
 * (s3:GetObject alone only reads the current version), granted only to the functions that read
 * inputs or job files at the version pinned at Plan.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Versioning, Permissions)
 */
const ACTIONS: Record<ObjectAccess, string[]> = {
  read: ['s3:GetObject'],
  readVersion: ['s3:GetObjectVersion'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  delete: ['s3:DeleteObject'],
};

/** Encrypted, TLS-only, private buckets for the pipeline's data and access logs. */
class DataBuckets extends Construct {
  /** inputs/, jobs/, work/, outputs/. */
  readonly data: s3.Bucket;
  /** Server access logs of the data bucket. */
  readonly logs: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.logs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.data = new s3.Bucket(this, 'Data', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        {
          id: 'expire-intermediates',
          prefix: DATA_PREFIXES.work,
          expiration: Duration.days(WORK_EXPIRATION_DAYS),
          noncurrentVersionExpiration: Duration.days(1),
        },
        {
          id: 'abort-incomplete-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(90),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * Grants object actions on one prefix of the data bucket.
   * @param grantee - role or function
   * @param prefix - e.g. `work/`
   * @param access - which actions
   */
  grantPrefix(grantee: iam.IGrantable, prefix: string, ...access: ObjectAccess[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: access.flatMap((a) => ACTIONS[a]),
        resources: [this.data.arnForObjects(`${prefix}*`)],
      }),
    );
  }

  /** Grants ListBucket restricted to keys under one prefix. */
  grantList(grantee: iam.IGrantable, prefix: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.data.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
  }
}

export type { ObjectAccess };
export { DATA_PREFIXES, DataBuckets, WORK_EXPIRATION_DAYS };
