/**
 * The synthesized IAM policies of each Lambda function, as concrete documents: a function's
 * logical id → its role (Properties.Role) → every AWS::IAM::Policy attached to that role, with
 * Fn::GetAtt / Ref / Fn::Join / Fn::Sub / Fn::Select / Fn::Split resolved to the local names (the
 * data bucket of local AWS, table 'usage', the fake account and region of asl.ts). Managed
 * policies (AWSLambdaBasicExecutionRole: CloudWatch Logs only) are not needed by any SDK call.
 */
import { ACCOUNT, type CfnTemplate, REGION } from './asl.js';

/** An IAM policy document (as far as the simulator needs it). */
interface PolicyDocument {
  Version: string;
  Statement: Record<string, unknown>[];
}

/** One function's identity: principal ARN and its identity policies. */
interface FunctionIdentity {
  logicalId: string;
  roleArn: string;
  policies: { name: string; policy: PolicyDocument }[];
}

/** Names the local resources get in place of the template's. */
interface LocalNames {
  bucket: string;
  table: string;
  stateMachineName: string;
}

/** The ARN a resource gets locally (Fn::GetAtt X.Arn, and Ref where Ref is an ARN). */
function resourceArn(template: CfnTemplate, id: string, names: LocalNames): string {
  const r = template.Resources[id];
  if (!r) throw new TypeError(`unknown resource ${id}`);
  switch (r.Type) {
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${names.bucket}`;
    case 'AWS::DynamoDB::GlobalTable':
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${names.table}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${names.stateMachineName}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    default:
      return `arn:aws:local:${REGION}:${ACCOUNT}:${id}`;
  }
}

/** Resolves the intrinsics a synthesized policy uses to concrete strings. */
function resolve(value: unknown, template: CfnTemplate, names: LocalNames): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, template, names));
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const [k] = keys;
    const arg = v[k];
    if (k === 'Ref') {
      const ref = arg as string;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return REGION;
      if (ref === 'AWS::AccountId') return ACCOUNT;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      const r = template.Resources[ref];
      if (r?.Type === 'AWS::S3::Bucket') return names.bucket;
      if (r?.Type === 'AWS::DynamoDB::GlobalTable') return names.table;
      if (r?.Type === 'AWS::IAM::Role') return ref;
      return resourceArn(template, ref, names);
    }
    if (k === 'Fn::GetAtt') {
      const [id, attr] = arg as [string, string];
      if (attr === 'Arn') return resourceArn(template, id, names);
      throw new TypeError(`unsupported Fn::GetAtt ${id}.${attr}`);
    }
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return (resolve(parts, template, names) as unknown[]).map(String).join(sep);
    }
    if (k === 'Fn::Split') {
      const [sep, s] = arg as [string, unknown];
      return String(resolve(s, template, names)).split(sep);
    }
    if (k === 'Fn::Select') {
      const [i, list] = arg as [number | string, unknown];
      return (resolve(list, template, names) as unknown[])[Number(i)];
    }
    if (k === 'Fn::Sub') {
      const [text, vars] = (typeof arg === 'string' ? [arg, {}] : arg) as [
        string,
        Record<string, unknown>,
      ];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return String(resolve(vars[name], template, names));
        if (name.endsWith('.Arn')) return resourceArn(template, name.slice(0, -4), names);
        return String(resolve({ Ref: name }, template, names));
      });
    }
  }
  return Object.fromEntries(
    Object.entries(v).map(([key, x]) => [key, resolve(x, template, names)]),
  );
}

/**
 * The identity of every Lambda function of the template, by logical id.
 * @param template - the synthesized template
 * @param names - the local names of the bucket, table and state machine
 */
function functionIdentities(
  template: CfnTemplate,
  names: LocalNames,
): Map<string, FunctionIdentity> {
  const out = new Map<string, FunctionIdentity>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const role = (r.Properties.Role as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    if (!role) continue;
    const policies: FunctionIdentity['policies'] = [];
    for (const [pid, p] of Object.entries(template.Resources)) {
      if (p.Type !== 'AWS::IAM::Policy') continue;
      const roles = (p.Properties.Roles as { Ref?: string }[] | undefined) ?? [];
      if (!roles.some((x) => x.Ref === role)) continue;
      policies.push({
        name: pid,
        policy: resolve(p.Properties.PolicyDocument, template, names) as PolicyDocument,
      });
    }
    out.set(id, { logicalId: id, roleArn: `arn:aws:iam::${ACCOUNT}:role/${role}`, policies });
  }
  return out;
}

export type { FunctionIdentity, LocalNames, PolicyDocument };
export { functionIdentities };
