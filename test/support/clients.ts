import { randomUUID } from "node:crypto";
import { SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { createDynamoDbClient, createS3Client } from "../../lambdas/shared/aws/clients";
import { S3AdminClient } from "../../local/s3/admin-client";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";

export const TEST_REGION = "us-east-1";

export function testS3Client() {
  return createS3Client({
    endpoint: inject("s3Endpoint"),
    region: TEST_REGION,
    credentials: LOCAL_S3_CREDENTIALS,
  });
}

export function testDynamoDbClient() {
  return createDynamoDbClient({
    endpoint: inject("dynamoDbEndpoint"),
    region: TEST_REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}

/** A bucket or table name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** The embedded S3's admin API (request counters, deny rules, throttling); scope by bucket. */
export function testS3Admin(): S3AdminClient {
  return new S3AdminClient(inject("s3Endpoint"));
}

/** An SQS client (the AWS SDK's, JSON protocol) of a local SQS endpoint. */
export function testSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: TEST_REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}
