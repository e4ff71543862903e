// One embedded S3 and one DynamoDB Local for the whole test run, on free ports. Tests create
// their own buckets and tables with unique names, so they never see each other's data.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { javaAvailable, startDynamoDbServer } from "../../local/dynamodb/server";
import { startS3Server } from "../../local/s3/server";

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string;
    dynamoDbEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  if (!javaAvailable()) {
    throw new Error(
      "Java is missing: the test suite runs AWS's DynamoDB Local, which needs Java 11+ (apt-get install openjdk-17-jre-headless)",
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-test-"));
  const [s3, ddb] = await Promise.all([
    startS3Server({ directory: path.join(dir, "s3") }),
    startDynamoDbServer({}),
  ]);
  project.provide("s3Endpoint", s3.endpoint);
  project.provide("dynamoDbEndpoint", ddb.endpoint);
  return async () => {
    await Promise.all([s3.stop(), ddb.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
