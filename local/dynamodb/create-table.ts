// Creates the state table from the shared definition in table.ts. Used by tests and the
// embedded environment; in AWS the CDK construct creates it from the same constants.
import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import {
  KIND_INDEX,
  PARTITION_KEY,
  SORT_KEY,
  TABLE_ATTRIBUTES,
  TTL_ATTRIBUTE,
} from "../../lambdas/shared/dynamodb/table";

export async function createStateTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: TABLE_ATTRIBUTES.map((a) => ({ ...a })),
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: "HASH" },
          { AttributeName: SORT_KEY, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: KIND_INDEX.name,
            KeySchema: [
              { AttributeName: KIND_INDEX.partitionKey, KeyType: "HASH" },
              { AttributeName: KIND_INDEX.sortKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
  } catch (err) {
    if (err instanceof ResourceInUseException) return;
    throw err;
  }
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}
