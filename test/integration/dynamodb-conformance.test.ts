// What Lakeport needs from DynamoDB, proven against the embedded DynamoDB Local with the real
// SDK client from createDynamoDbClient(): conditional writes, key-condition queries with
// pagination, a GSI query, TTL settings and all-or-nothing transactions.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, test } from "vitest";
import { testDynamoDbClient, uniqueName } from "../support/clients";

const ddb = testDynamoDbClient();
let table: string;

beforeAll(async () => {
  table = uniqueName("conf");
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
        { AttributeName: "gsi1pk", AttributeType: "S" },
        { AttributeName: "gsi1sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: "gsi1",
          KeySchema: [
            { AttributeName: "gsi1pk", KeyType: "HASH" },
            { AttributeName: "gsi1sk", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
});

const s = (v: string) => ({ S: v });
const n = (v: number) => ({ N: String(v) });

describe("conditional writes", () => {
  test("PutItem with attribute_not_exists creates once, then fails with the old item", async () => {
    const item = { pk: s("export#1"), sk: s("config"), version: n(1) };
    const create = () =>
      ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    await create();
    const err = await create().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConditionalCheckFailedException);
    expect((err as ConditionalCheckFailedException).Item).toEqual(item);
  });

  test("UpdateItem with a version condition: optimistic locking", async () => {
    const key = { pk: s("export#2"), sk: s("state") };
    await ddb.send(
      new PutItemCommand({ TableName: table, Item: { ...key, version: n(1), status: s("idle") } }),
    );
    const bump = (expected: number, status: string) =>
      ddb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: "SET #s = :s, version = version + :one",
          ConditionExpression: "version = :expected",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":s": s(status), ":one": n(1), ":expected": n(expected) },
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    const ok = await bump(1, "running");
    expect(ok.Attributes).toMatchObject({ version: n(2), status: s("running") });
    const stale = await bump(1, "lost").catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ConditionalCheckFailedException);
    expect((stale as ConditionalCheckFailedException).Item).toMatchObject({
      version: n(2),
      status: s("running"),
    });
    const now = await ddb.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    expect(now.Item?.status).toEqual(s("running"));
  });
});

describe("queries", () => {
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) {
      const sk = `run#${String(i).padStart(3, "0")}`;
      await ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: s("repo#q"),
            sk: s(sk),
            gsi1pk: s(i % 2 === 0 ? "status#done" : "status#failed"),
            gsi1sk: s(`t#${String(100 - i).padStart(3, "0")}`),
          },
        }),
      );
    }
    await ddb.send(
      new PutItemCommand({ TableName: table, Item: { pk: s("repo#q"), sk: s("zz-other") } }),
    );
  });

  test("Query with begins_with pages through Limit-sized pages with LastEvaluatedKey", async () => {
    const seen: string[] = [];
    let start: Record<string, { S: string }> | undefined;
    let pages = 0;
    do {
      const page = await ddb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :run)",
          ExpressionAttributeValues: { ":pk": s("repo#q"), ":run": s("run#") },
          Limit: 10,
          ExclusiveStartKey: start,
        }),
      );
      pages++;
      seen.push(...(page.Items ?? []).map((it) => it.sk!.S!));
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen).toHaveLength(25);
    expect(seen).toEqual([...seen].sort());
  });

  test("Query BETWEEN, descending", async () => {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues: { ":pk": s("repo#q"), ":a": s("run#010"), ":b": s("run#012") },
        ScanIndexForward: false,
      }),
    );
    expect(page.Items?.map((it) => it.sk!.S)).toEqual(["run#012", "run#011", "run#010"]);
  });

  test("Query on a GSI", async () => {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :p AND gsi1sk < :t",
        ExpressionAttributeValues: { ":p": s("status#failed"), ":t": s("t#080") },
      }),
    );
    // failed = odd i; gsi1sk = 100 - i < 80  <=>  i > 20: i = 21, 23
    expect(page.Items?.map((it) => it.sk!.S)).toEqual(["run#023", "run#021"]);
  });
});

describe("TTL", () => {
  test("UpdateTimeToLive enables expiry on an attribute; DescribeTimeToLive reports it", async () => {
    const ttlTable = uniqueName("ttl");
    await ddb.send(
      new CreateTableCommand({
        TableName: ttlTable,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      }),
    );
    const before = await ddb.send(new DescribeTimeToLiveCommand({ TableName: ttlTable }));
    expect(before.TimeToLiveDescription?.TimeToLiveStatus).toBe("DISABLED");
    const out = await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: ttlTable,
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      }),
    );
    expect(out.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAt", Enabled: true });
    const after = await ddb.send(new DescribeTimeToLiveCommand({ TableName: ttlTable }));
    expect(after.TimeToLiveDescription).toMatchObject({
      AttributeName: "expiresAt",
      TimeToLiveStatus: "ENABLED",
    });
    // An item with the TTL attribute is stored like any other (expiry is asynchronous).
    await ddb.send(
      new PutItemCommand({ TableName: ttlTable, Item: { pk: s("a"), expiresAt: n(1) } }),
    );
    const got = await ddb.send(new GetItemCommand({ TableName: ttlTable, Key: { pk: s("a") } }));
    expect(got.Item?.expiresAt).toEqual(n(1));
  });
});

describe("transactions", () => {
  test("TransactWriteItems: one failing condition cancels every write", async () => {
    await ddb.send(
      new PutItemCommand({ TableName: table, Item: { pk: s("tx"), sk: s("lock"), owner: s("a") } }),
    );
    const err = await ddb
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: { pk: s("tx"), sk: s("run#1"), status: s("started") },
              },
            },
            {
              Update: {
                TableName: table,
                Key: { pk: s("tx"), sk: s("lock") },
                UpdateExpression: "SET #o = :me",
                ConditionExpression: "attribute_not_exists(#o)",
                ExpressionAttributeNames: { "#o": "owner" },
                ExpressionAttributeValues: { ":me": s("b") },
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionCanceledException);
    const reasons = (err as TransactionCanceledException).CancellationReasons;
    expect(reasons?.map((r) => r.Code)).toEqual(["None", "ConditionalCheckFailed"]);
    const run = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { pk: s("tx"), sk: s("run#1") } }),
    );
    expect(run.Item).toBeUndefined();
    const lock = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { pk: s("tx"), sk: s("lock") } }),
    );
    expect(lock.Item?.owner).toEqual(s("a"));

    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: { TableName: table, Item: { pk: s("tx"), sk: s("run#1"), status: s("started") } },
          },
          {
            ConditionCheck: {
              TableName: table,
              Key: { pk: s("tx"), sk: s("lock") },
              ConditionExpression: "#o = :a",
              ExpressionAttributeNames: { "#o": "owner" },
              ExpressionAttributeValues: { ":a": s("a") },
            },
          },
        ],
      }),
    );
    const committed = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { pk: s("tx"), sk: s("run#1") } }),
    );
    expect(committed.Item?.status).toEqual(s("started"));
  });
});
