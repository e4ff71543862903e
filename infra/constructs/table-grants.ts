// Grants on the state table narrowed to the items a function's code touches: IAM narrows
// items no further than their partition key, so `prefixes` name partitions (REPO#, GCLEASE#,
// WEBHOOK#, EXPORTPROGRESS#, the EXPORTPATHS partition) and, on the kind index, kinds.
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import { type ItemKind, KIND_INDEX } from "../../lambdas/shared/dynamodb/table";

/** `actions` on the table's items whose partition key starts with one of `prefixes`. */
export function grantItems(
  grantee: iam.IGrantable & { addToRolePolicy(statement: iam.PolicyStatement): unknown },
  table: dynamodb.ITable,
  actions: string[],
  prefixes: string[],
): void {
  grantee.addToRolePolicy(
    new iam.PolicyStatement({
      actions,
      resources: [table.tableArn],
      conditions: {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes.map((p) => `${p}*`) },
      },
    }),
  );
}

/** `actions` on the items of the partitions whose key is exactly one of `partitionKeys`. */
export function grantPartitions(
  grantee: iam.IGrantable & { addToRolePolicy(statement: iam.PolicyStatement): unknown },
  table: dynamodb.ITable,
  actions: string[],
  partitionKeys: string[],
): void {
  grantee.addToRolePolicy(
    new iam.PolicyStatement({
      actions,
      resources: [table.tableArn],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": partitionKeys } },
    }),
  );
}

/**
 * Query of the kind index for items of `kinds` only: the index's partition key is the kind,
 * so the query's leading key is one of them.
 */
export function grantKindQuery(
  grantee: iam.IGrantable & { addToRolePolicy(statement: iam.PolicyStatement): unknown },
  table: dynamodb.ITable,
  kinds: ItemKind[],
): void {
  grantee.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["dynamodb:Query"],
      resources: [`${table.tableArn}/index/${KIND_INDEX.name}`],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": kinds } },
    }),
  );
}
