// A distributed map's ResultWriter: the child executions' results written to S3 as AWS lays
// them out, and the entry describing one child execution.
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { StatesError } from "./errors";
import type { Json } from "./paths";
import type { ExecutionRecord, MapRunRecord } from "./records";

export interface MapRunResults {
  bucket: string;
  prefix: string | undefined;
  mapRunArn: string;
  mapRunId: string;
  /** One per child input; undefined for a child that never started. */
  children: (ExecutionRecord | undefined)[];
  childInputs: Json[];
  run: MapRunRecord;
}

/**
 * Writes manifest.json and SUCCEEDED_0 / FAILED_0 / PENDING_0.json as AWS lays them out;
 * returns the manifest's key.
 */
export async function writeMapRunResults(
  s3: S3Client | undefined,
  results: MapRunResults,
): Promise<string> {
  const { bucket, prefix, mapRunArn, mapRunId, children, childInputs, run } = results;
  if (!s3)
    throw new StatesError(
      "States.ResultWriterFailed",
      "The local runner has no S3 client configured",
    );
  const base = prefix ? `${prefix.replace(/\/+$/, "")}/${mapRunId}` : mapRunId;
  const groups: Record<"SUCCEEDED" | "FAILED" | "PENDING", Json[]> = {
    SUCCEEDED: [],
    FAILED: [],
    PENDING: [],
  };
  children.forEach((ch, i) => {
    if (!ch)
      groups.PENDING.push({
        Input: JSON.stringify(childInputs[i]),
        InputDetails: { Included: true },
        Status: "PENDING",
      });
    else if (ch.status === "SUCCEEDED") groups.SUCCEEDED.push(resultEntry(ch));
    else groups.FAILED.push(resultEntry(ch));
  });
  const files: Record<string, { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  const put = async (key: string, body: string) => {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: "application/json",
        }),
      );
    } catch (e) {
      throw new StatesError(
        "States.ResultWriterFailed",
        `Could not write s3://${bucket}/${key}: ${(e as Error).name}: ${(e as Error).message}`,
      );
    }
  };
  for (const status of ["SUCCEEDED", "FAILED", "PENDING"] as const) {
    if (groups[status].length === 0) continue;
    const key = `${base}/${status}_0.json`;
    const body = JSON.stringify(groups[status]);
    await put(key, body);
    files[status]!.push({ Key: key, Size: Buffer.byteLength(body) });
  }
  const manifestKey = `${base}/manifest.json`;
  await put(
    manifestKey,
    JSON.stringify({ DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files }),
  );
  run.itemCounts.resultsWritten =
    run.itemCounts.succeeded + run.itemCounts.failed + run.itemCounts.aborted;
  run.executionCounts.resultsWritten = groups.SUCCEEDED.length + groups.FAILED.length;
  return manifestKey;
}

/** One child execution as ResultWriter files and failed Map results describe it. */
export function resultEntry(ch: ExecutionRecord): Json {
  const base: Record<string, Json> = {
    ExecutionArn: ch.executionArn,
    Input: ch.input,
    InputDetails: { Included: true },
    Name: ch.name,
  };
  if (ch.status === "SUCCEEDED") {
    base.Output = ch.output ?? "null";
    base.OutputDetails = { Included: true };
  }
  base.RedriveCount = 0;
  if (ch.status === "SUCCEEDED") {
    base.RedriveStatus = "NOT_REDRIVABLE";
    base.RedriveStatusReason = "Execution is SUCCEEDED and cannot be redriven";
  } else {
    base.RedriveStatus = "REDRIVABLE_BY_MAP_RUN";
  }
  base.StartDate = ch.startDate.toISOString();
  base.StateMachineArn = ch.stateMachineArn;
  base.Status = ch.status;
  base.StopDate = (ch.stopDate ?? new Date()).toISOString();
  if (ch.status !== "SUCCEEDED") {
    base.Error = ch.error ?? null;
    base.Cause = ch.cause ?? null;
  }
  return base;
}
