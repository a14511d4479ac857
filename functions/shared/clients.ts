/**
 * The functions' AWS SDK clients, one of each per bundle, built with the SDK's defaults (so the
 * standard AWS_ENDPOINT_URL_* / AWS_REGION variables configure them). Every SDK call a handler
 * makes goes through one of these, so the local harness can add one middleware per client (IAM
 * simulation against the synthesized policies, fault injection) and see every call.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** S3 (functions/shared/s3.ts). */
const s3 = new S3Client({});
/** DynamoDB, low level (the document client below wraps it and shares its middleware stack). */
const dynamodb = new DynamoDBClient({});
/** DynamoDB documents (usage.ts, claims.ts). */
const ddb = DynamoDBDocumentClient.from(dynamodb);
/** Step Functions (the trigger's StartExecution). */
const sfn = new SFNClient({});

export { ddb, dynamodb, s3, sfn };
