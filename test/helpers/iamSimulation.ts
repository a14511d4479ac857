/**
 * IAM simulation of every SDK call a handler makes: each invocation runs inside an
 * AsyncLocalStorage scope naming its function; a middleware on the functions' clients
 * (functions/shared/clients.ts) maps the command to the IAM action(s), resource ARN(s) and
 * condition keys AWS authorizes it with, and evaluates them with @cloud-copilot/iam-simulate
 * against that function's synthesized policies (test/helpers/iamPolicies.ts). A denied call
 * throws what the service returns (S3: 403 AccessDenied; DynamoDB and Step Functions:
 * AccessDeniedException) before it is sent, and is recorded in `denials`.
 *
 * Actions per API call: the Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * (GetObject/HeadObject → s3:GetObject, with versionId → s3:GetObjectVersion; ListObjectsV2 →
 * s3:ListBucket with s3:prefix; multipart parts → s3:PutObject; CopyObject/UploadPartCopy →
 * read of the source and s3:PutObject of the target; DeleteObjects → s3:DeleteObject per key),
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
 * and https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
 * Not modelled: S3 answering 403 instead of 404 for a missing key without s3:ListBucket.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT } from './asl.js';
import type { FunctionIdentity } from './iamPolicies.js';

/** One IAM request an SDK call needs. */
interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** A denied call. */
interface Denial extends IamRequest {
  function: string;
  command: string;
}

/** The function whose invocation is running (logical id). */
const scope = new AsyncLocalStorage<{ functionId: string }>();

/** Runs `fn` as an invocation of the function `functionId`. */
function asFunction<T>(functionId: string, fn: () => T): T {
  return scope.run({ functionId }, fn);
}

const s3Object = (bucket: unknown, key: unknown) => `arn:aws:s3:::${String(bucket)}/${String(key)}`;

/** `bucket/key?versionId=v` (URL-encoded key) of CopyObject / UploadPartCopy. */
function copySource(source: string): { bucket: string; key: string; versioned: boolean } {
  const [path, query = ''] = source.replace(/^\//, '').split('?');
  const slash = path.indexOf('/');
  return {
    bucket: path.slice(0, slash),
    key: decodeURIComponent(path.slice(slash + 1)),
    versioned: /(^|&)versionId=/.test(query),
  };
}

/** The IAM requests of one command (empty: not authorized per call here). */
function iamRequests(
  service: string,
  command: string,
  input: Record<string, unknown>,
): IamRequest[] {
  const name = command.replace(/Command$/, '');
  const none = {};
  if (service === 's3') {
    const obj = s3Object(input.Bucket, input.Key);
    const versioned = input.VersionId !== undefined;
    switch (name) {
      case 'GetObject':
      case 'HeadObject':
        return [
          {
            action: versioned ? 's3:GetObjectVersion' : 's3:GetObject',
            resource: obj,
            context: none,
          },
        ];
      case 'GetObjectAttributes':
        return [
          {
            action: versioned ? 's3:GetObjectVersionAttributes' : 's3:GetObjectAttributes',
            resource: obj,
            context: none,
          },
        ];
      case 'ListObjectsV2':
      case 'ListObjects':
        return [
          {
            action: 's3:ListBucket',
            resource: `arn:aws:s3:::${String(input.Bucket)}`,
            context: { 's3:prefix': String(input.Prefix ?? '') },
          },
        ];
      case 'ListObjectVersions':
        return [
          {
            action: 's3:ListBucketVersions',
            resource: `arn:aws:s3:::${String(input.Bucket)}`,
            context: { 's3:prefix': String(input.Prefix ?? '') },
          },
        ];
      case 'PutObject':
      case 'CreateMultipartUpload':
      case 'UploadPart':
      case 'CompleteMultipartUpload':
        return [{ action: 's3:PutObject', resource: obj, context: none }];
      case 'AbortMultipartUpload':
        return [{ action: 's3:AbortMultipartUpload', resource: obj, context: none }];
      case 'ListParts':
        return [{ action: 's3:ListMultipartUploadParts', resource: obj, context: none }];
      case 'CopyObject':
      case 'UploadPartCopy': {
        const src = copySource(String(input.CopySource));
        return [
          {
            action: src.versioned ? 's3:GetObjectVersion' : 's3:GetObject',
            resource: s3Object(src.bucket, src.key),
            context: none,
          },
          { action: 's3:PutObject', resource: obj, context: none },
        ];
      }
      case 'DeleteObject':
        return [
          {
            action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
            resource: obj,
            context: none,
          },
        ];
      case 'DeleteObjects': {
        const objects =
          (input.Delete as { Objects?: { Key?: string; VersionId?: string }[] } | undefined)
            ?.Objects ?? [];
        return objects.map((o) => ({
          action: o.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          resource: s3Object(input.Bucket, o.Key),
          context: none,
        }));
      }
      default:
        throw new TypeError(`iamSimulation: no IAM mapping for S3 ${command}: add one`);
    }
  }
  if (service === 'dynamodb') {
    // The document client's commands (GetCommand…) are the item commands of the low-level API.
    const action: Record<string, string> = {
      Get: 'GetItem',
      GetItem: 'GetItem',
      Put: 'PutItem',
      PutItem: 'PutItem',
      Update: 'UpdateItem',
      UpdateItem: 'UpdateItem',
      Delete: 'DeleteItem',
      DeleteItem: 'DeleteItem',
      Query: 'Query',
      Scan: 'Scan',
    };
    const a = action[name];
    if (!a) throw new TypeError(`iamSimulation: no IAM mapping for DynamoDB ${command}: add one`);
    const table = String(input.TableName);
    const arn = table.startsWith('arn:')
      ? table
      : `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${table}`;
    return [{ action: `dynamodb:${a}`, resource: arn, context: none }];
  }
  if (service === 'states') {
    if (name === 'StartExecution') {
      return [
        { action: 'states:StartExecution', resource: String(input.stateMachineArn), context: none },
      ];
    }
    throw new TypeError(`iamSimulation: no IAM mapping for Step Functions ${command}: add one`);
  }
  return [];
}

/** The error the service returns for a denied call. */
function accessDenied(service: string, identity: FunctionIdentity, r: IamRequest): Error {
  const message = `User: ${identity.roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/${identity.logicalId} is not authorized to perform: ${r.action} on resource: ${r.resource} because no identity-based policy allows the ${r.action} action`;
  const e = new Error(message) as Error & { $metadata: unknown; $fault: string; Code?: string };
  e.name = service === 's3' ? 'AccessDenied' : 'AccessDeniedException';
  if (service === 's3') e.Code = 'AccessDenied';
  e.$fault = 'client';
  e.$metadata = { httpStatusCode: service === 's3' ? 403 : 400, attempts: 1 };
  return e;
}

/** Something whose middleware stack can take one more middleware (an SDK client). */
interface HasMiddleware {
  middlewareStack: {
    add(m: unknown, o: { step: 'initialize'; name: string; override?: boolean }): void;
    remove(name: string): boolean;
  };
}

/** The IAM check of the local workflow. */
interface IamSimulator {
  denials: Denial[];
  /** Every request checked (allowed or not), for tests that assert coverage. */
  checked: (IamRequest & { function: string; allowed: boolean })[];
  /** Checks one call of `service` made in the current function scope; throws when denied. */
  authorize(service: string, command: string, input: Record<string, unknown>): Promise<void>;
  /** Adds the check to clients (service: 's3' | 'dynamodb' | 'states'). */
  install(clients: [string, HasMiddleware][]): void;
  uninstall(): void;
  /** Forgets cached decisions (after the identities changed). */
  clearCache(): void;
}

const MIDDLEWARE = 'iamSimulation';

/**
 * The IAM simulator over the functions' identities.
 * @param identities - logical id → identity (iamPolicies.functionIdentities)
 */
function iamSimulator(identities: Map<string, FunctionIdentity>): IamSimulator {
  const denials: Denial[] = [];
  const checked: IamSimulator['checked'] = [];
  const cache = new Map<string, boolean>();
  const installed: HasMiddleware[] = [];

  const allowed = async (identity: FunctionIdentity, r: IamRequest): Promise<boolean> => {
    const key = JSON.stringify([identity.logicalId, r]);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const result = await runSimulation(
      {
        request: {
          principal: identity.roleArn,
          action: r.action,
          resource: { resource: r.resource, accountId: ACCOUNT },
          contextVariables: r.context,
        },
        identityPolicies: identity.policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: undefined,
      },
      {},
    );
    if (result.resultType === 'error') {
      throw new TypeError(
        `iam-simulate refused ${JSON.stringify(r)}: ${JSON.stringify(result.errors)}`,
      );
    }
    const ok = result.overallResult === 'Allowed';
    cache.set(key, ok);
    return ok;
  };

  const authorize: IamSimulator['authorize'] = async (service, command, input) => {
    const functionId = scope.getStore()?.functionId;
    if (!functionId) return; // test code, not a handler
    const identity = identities.get(functionId);
    if (!identity) throw new TypeError(`iamSimulation: no identity for function ${functionId}`);
    for (const r of iamRequests(service, command, input)) {
      const ok = await allowed(identity, r);
      checked.push({ ...r, function: functionId, allowed: ok });
      if (!ok) {
        denials.push({ ...r, function: functionId, command });
        throw accessDenied(service, identity, r);
      }
    }
  };

  return {
    denials,
    checked,
    authorize,
    install(clients) {
      for (const [service, client] of clients) {
        const middleware =
          (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) =>
          async (args: { input: Record<string, unknown> }) => {
            await authorize(service, context.commandName ?? '', args.input);
            return next(args);
          };
        client.middlewareStack.add(middleware, {
          step: 'initialize',
          name: MIDDLEWARE,
          override: true,
        });
        installed.push(client);
      }
    },
    uninstall() {
      for (const c of installed.splice(0)) c.middlewareStack.remove(MIDDLEWARE);
    },
    clearCache: () => cache.clear(),
  };
}

export type { Denial, IamRequest, IamSimulator };
export { asFunction, iamRequests, iamSimulator };
