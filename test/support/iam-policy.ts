// IAM for tests: the embedded environment applies none, so a call a role does not allow fails
// only on AWS. Here the calls the real code sends (through recording clients) become IAM
// requests (action, resource ARN, condition keys), checked against a synthesized role's
// statements: Allow statements, action and resource wildcards, and the condition operators
// Lakeport's policies use (an unknown operator throws rather than passes).
import type { Template } from "aws-cdk-lib/assertions";

export type Statement = {
  Effect?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
};

export interface IamRequest {
  action: string;
  resource: string;
  /** Condition keys of the request; a key absent here is absent from the request. */
  context?: Record<string, string[]>;
}

const list = <T>(v: T | T[]): T[] => ([] as T[]).concat(v);

/** CloudFormation values as plain strings: GetAtt X.Arn -> arn:cfn:X, Ref X -> X. */
export function resolve(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  if (v["Fn::GetAtt"]) return `arn:cfn:${(v["Fn::GetAtt"] as string[])[0]}`;
  if (v.Ref) return String(v.Ref);
  if (v["Fn::Join"]) {
    const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map(resolve).join(sep);
  }
  return `<unresolved ${JSON.stringify(value)}>`;
}

/** The ARN of the first resource of `type` whose logical id starts with `prefix`. */
export function arnOf(template: Template, type: string, prefix: string): string {
  const id = Object.keys(template.findResources(type)).find((k) => k.startsWith(prefix));
  if (!id) throw new Error(`no ${type} ${prefix}*`);
  return `arn:cfn:${id}`;
}

/** The statements of the role of the Lambda function whose logical id starts with `prefix`. */
export function roleStatementsOf(template: Template, prefix: string): Statement[] {
  const fns = Object.entries(template.findResources("AWS::Lambda::Function")).filter(([id]) =>
    id.startsWith(prefix),
  );
  if (fns.length !== 1) throw new Error(`${fns.length} functions ${prefix}*`);
  const role = (fns[0]![1] as { Properties: { Role: { "Fn::GetAtt": [string] } } }).Properties.Role[
    "Fn::GetAtt"
  ][0];
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .map(
      (p) =>
        (p as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: [] } } })
          .Properties,
    )
    .filter((p) => p.Roles.some((r) => r.Ref === role))
    .flatMap((p) => p.PolicyDocument.Statement as Statement[]);
}

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
      .join("")}$`,
    "s",
  ).test(value);

function conditionHolds(operator: string, expected: string[], actual: string[] | undefined) {
  const [set, op] = operator.includes(":") ? operator.split(":") : [undefined, operator];
  const match =
    op === "StringLike"
      ? (a: string) => expected.some((e) => glob(e, a))
      : op === "StringEquals"
        ? (a: string) => expected.includes(a)
        : undefined;
  if (!match) throw new Error(`condition operator ${operator} is not modelled`);
  if (set === "ForAllValues") return (actual ?? []).every(match);
  if (set === "ForAnyValue") return (actual ?? []).some(match);
  if (set !== undefined) throw new Error(`condition operator ${operator} is not modelled`);
  return actual !== undefined && actual.length > 0 && actual.every(match);
}

function statementAllows(st: Statement, req: IamRequest): boolean {
  if (!list(st.Action).some((a) => glob(a, req.action))) return false;
  if (!list(st.Resource).some((r) => glob(resolve(r), req.resource))) return false;
  return Object.entries(st.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) =>
      conditionHolds(operator, list(expected), req.context?.[key]),
    ),
  );
}

/** Whether the statements allow `req` (an explicit Deny wins). */
export function allows(statements: Statement[], req: IamRequest): boolean {
  const matching = statements.filter((st) => statementAllows(st, req));
  if (matching.some((st) => st.Effect === "Deny")) return false;
  return matching.some((st) => st.Effect !== "Deny");
}

/** The requests of `requests` the statements refuse (none: every call is allowed). */
export function refused(statements: Statement[], requests: IamRequest[]): IamRequest[] {
  return requests.filter((r) => !allows(statements, r));
}

type Command = { constructor: { name: string }; input: Record<string, unknown> };
type Item = Record<string, unknown>;

/** The partition value a Query's key condition names (`<attr> = :v`, through #names). */
function queriedPartition(input: Record<string, unknown>, attribute: string): string[] {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  for (const m of String(input.KeyConditionExpression).matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    if ((names[m[1]!] ?? m[1]) === attribute) return [String(values[m[2]!])];
  }
  throw new Error(`no equality on ${attribute} in ${input.KeyConditionExpression}`);
}

/** The IAM requests of one DynamoDB document client command on the table at `tableArn`. */
export function dynamoRequests(command: Command, tableArn: string): IamRequest[] {
  const input = command.input;
  const keyed = (action: string, key: Item | undefined): IamRequest => ({
    action: `dynamodb:${action}`,
    resource: tableArn,
    context: { "dynamodb:LeadingKeys": [String(key?.pk)] },
  });
  switch (command.constructor.name) {
    case "GetCommand":
      return [keyed("GetItem", input.Key as Item)];
    case "PutCommand":
      return [keyed("PutItem", input.Item as Item)];
    case "UpdateCommand":
      return [keyed("UpdateItem", input.Key as Item)];
    case "DeleteCommand":
      return [keyed("DeleteItem", input.Key as Item)];
    case "QueryCommand": {
      const index = input.IndexName as string | undefined;
      return [
        {
          action: "dynamodb:Query",
          resource: index ? `${tableArn}/index/${index}` : tableArn,
          // A query of an index leads with the index's partition key.
          context: { "dynamodb:LeadingKeys": queriedPartition(input, index ? "kind" : "pk") },
        },
      ];
    }
    case "TransactWriteCommand":
      return (input.TransactItems as Record<string, Item>[]).map((t) => {
        if (t.Put) return keyed("PutItem", t.Put.Item as Item);
        if (t.Update) return keyed("UpdateItem", t.Update.Key as Item);
        if (t.Delete) return keyed("DeleteItem", t.Delete.Key as Item);
        return keyed("ConditionCheckItem", t.ConditionCheck?.Key as Item);
      });
    default:
      throw new Error(`no IAM mapping for ${command.constructor.name}`);
  }
}

/**
 * A document client over an in-memory table that records every command: items are put,
 * read, deleted and queried (table or kind index); conditions are not checked and updates
 * change nothing, so every write of a code path is sent and succeeds.
 */
export function recordingTable(seed: Item[] = []) {
  const items = new Map<string, Item>(seed.map((i) => [`${i.pk}|${i.sk}`, i]));
  const sent: Command[] = [];
  const keyOf = (k: Item) => `${k.pk}|${k.sk}`;
  const apply = (t: Record<string, Item>) => {
    if (t.Put) items.set(keyOf(t.Put.Item as Item), t.Put.Item as Item);
    if (t.Delete) items.delete(keyOf(t.Delete.Key as Item));
  };
  const doc = {
    send: async (command: Command) => {
      sent.push(command);
      const input = command.input;
      switch (command.constructor.name) {
        case "GetCommand": {
          const item = items.get(keyOf(input.Key as Item));
          return item ? { Item: structuredClone(item) } : {};
        }
        case "PutCommand":
          apply({ Put: input });
          return {};
        case "DeleteCommand":
          apply({ Delete: input });
          return {};
        case "UpdateCommand":
          return { Attributes: items.get(keyOf(input.Key as Item)) };
        case "QueryCommand": {
          const attr = input.IndexName ? "kind" : "pk";
          const [value] = queriedPartition(input, attr);
          return { Items: [...items.values()].filter((i) => i[attr] === value) };
        }
        case "TransactWriteCommand":
          for (const t of input.TransactItems as Record<string, Item>[]) apply(t);
          return {};
        default:
          throw new Error(`recordingTable: ${command.constructor.name}`);
      }
    },
  };
  return { doc, sent, items };
}

/** The IAM requests of one S3 client command (`bucketArn`: the ARN of the bucket it names). */
export function s3Requests(command: Command, bucketArn: string): IamRequest[] {
  const input = command.input;
  const object = (action: string): IamRequest => ({
    action: `s3:${action}`,
    resource: `${bucketArn}/${input.Key}`,
  });
  switch (command.constructor.name) {
    case "GetObjectCommand":
    case "HeadObjectCommand":
      return [object("GetObject")];
    case "PutObjectCommand":
    case "CreateMultipartUploadCommand":
    case "UploadPartCommand":
    case "CompleteMultipartUploadCommand":
      return [object("PutObject")];
    case "AbortMultipartUploadCommand":
      return [object("AbortMultipartUpload")];
    case "ListObjectsV2Command":
      return [
        {
          action: "s3:ListBucket",
          resource: bucketArn,
          ...(input.Prefix !== undefined
            ? { context: { "s3:prefix": [String(input.Prefix)] } }
            : {}),
        },
      ];
    default:
      throw new Error(`no IAM mapping for ${command.constructor.name}`);
  }
}

/** An S3 client that records every command and answers: no object (404), empty listings. */
export function recordingS3() {
  const sent: Command[] = [];
  const client = {
    send: async (command: Command) => {
      sent.push(command);
      switch (command.constructor.name) {
        case "GetObjectCommand":
        case "HeadObjectCommand":
          throw Object.assign(new Error("NoSuchKey"), {
            name: "NoSuchKey",
            Code: "NoSuchKey",
            $metadata: { httpStatusCode: 404 },
          });
        case "ListObjectsV2Command":
          return { Contents: [], IsTruncated: false };
        default:
          return { ETag: '"e"' };
      }
    },
  };
  return { client, sent };
}

/**
 * S3 answers a read of a missing key 404 (NoSuchKey, which the code takes for "not written
 * yet") only to a caller allowed s3:ListBucket on the bucket; modelled as a request without a
 * prefix (whether S3 counts a prefix-conditioned grant there is not documented).
 */
export function missingKeyRead(bucketArn: string): IamRequest {
  return { action: "s3:ListBucket", resource: bucketArn };
}

/** A DynamoDB request on `table` (or `resource`, an index) as IAM sees it: its leading key. */
export const leadingKeyRequest =
  (table: string) =>
  (action: string, key: string, resource = table): IamRequest => ({
    action: `dynamodb:${action}`,
    resource,
    context: { "dynamodb:LeadingKeys": [key] },
  });

/** Each action on each partition (or kind) the requests touch, once, sorted: "action PARTITION". */
export function partitionCalls(requests: IamRequest[]): string[] {
  const calls = new Set(
    requests.map((r) => `${r.action} ${r.context?.["dynamodb:LeadingKeys"]}`.split("#")[0]!),
  );
  return [...calls].sort();
}
