// Deployment phase: buckets in the embedded S3, tables in DynamoDB Local (indexes, streams,
// TTL), event buses in the router. Existing ones are kept (a restart on kept data).
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { BucketAlreadyOwnedByYou, CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import type { EventRouter } from "../eventbridge/router";
import { type DeployContext, recordDeployed, resolvedProps } from "./deploy-context";
import { TemplateError } from "./template";

export async function deployStorage(
  ctx: DeployContext,
  s3: S3Client,
  ddb: DynamoDBClient,
  router: EventRouter,
): Promise<void> {
  for (const [id, r] of ctx.resources) {
    if (r.Type === "AWS::S3::Bucket") {
      await s3.send(new CreateBucketCommand({ Bucket: ctx.physical.get(id)!.ref })).catch((e) => {
        if (!(e instanceof BucketAlreadyOwnedByYou) && (e as Error).name !== "BucketAlreadyExists")
          throw e;
      });
      recordDeployed(ctx, id, r.Type);
    } else if (r.Type === "AWS::DynamoDB::Table") {
      await createTable(ddb, ctx.physical.get(id)!.ref, resolvedProps(ctx, r), id);
      recordDeployed(ctx, id, r.Type);
    } else if (r.Type === "AWS::Events::EventBus") {
      router.createEventBus(ctx.physical.get(id)!.ref);
      recordDeployed(ctx, id, r.Type);
    }
  }
}

async function createTable(
  ddb: DynamoDBClient,
  name: string,
  p: Record<string, unknown>,
  id: string,
): Promise<void> {
  const gsis = (p.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[];
  const lsis = (p.LocalSecondaryIndexes ?? []) as Record<string, unknown>[];
  const input: CreateTableCommandInput = {
    TableName: name,
    KeySchema: p.KeySchema as CreateTableCommandInput["KeySchema"],
    AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
    BillingMode: "PAY_PER_REQUEST",
    ...(gsis.length
      ? {
          GlobalSecondaryIndexes: gsis.map((g) => ({
            IndexName: String(g.IndexName),
            KeySchema: g.KeySchema as never,
            Projection: g.Projection as never,
          })),
        }
      : {}),
    ...(lsis.length
      ? {
          LocalSecondaryIndexes: lsis.map((l) => ({
            IndexName: String(l.IndexName),
            KeySchema: l.KeySchema as never,
            Projection: l.Projection as never,
          })),
        }
      : {}),
    ...(p.StreamSpecification
      ? {
          StreamSpecification: {
            StreamEnabled: true,
            StreamViewType: (p.StreamSpecification as { StreamViewType: never }).StreamViewType,
          },
        }
      : {}),
  };
  if (!input.KeySchema || !input.AttributeDefinitions)
    throw new TemplateError(`Table ${id}: KeySchema and AttributeDefinitions are required`);
  try {
    await ddb.send(new CreateTableCommand(input));
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  const ttl = p.TimeToLiveSpecification as
    | { AttributeName?: string; Enabled?: boolean }
    | undefined;
  if (ttl?.Enabled && ttl.AttributeName) {
    await ddb
      .send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      )
      .catch((e: Error) => {
        // A restart on kept data: the table exists with TTL already on.
        if (!/already enabled/i.test(e.message)) throw e;
      });
  }
}
