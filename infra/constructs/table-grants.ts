// Grants on the state table narrowed to the items a function's code touches: IAM narrows
// items no further than their partition key, so `prefixes` name partitions (REPO#, GCLEASE#,
// WEBHOOK#, EXPORTPROGRESS#).
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";

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
