import { CreateTableCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect, test } from "vitest";
import { testDynamoDbClient, testS3Client, uniqueName } from "../support/clients";

test("embedded S3 stores and returns an object", async () => {
  const s3 = testS3Client();
  const bucket = uniqueName("smoke");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "a/b.txt", Body: "hello" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "a/b.txt" }));
  expect(await got.Body?.transformToString()).toBe("hello");
});

test("embedded DynamoDB creates a table", async () => {
  const ddb = testDynamoDbClient();
  const table = uniqueName("smoke");
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
  expect(d.Table?.TableStatus).toBe("ACTIVE");
});
