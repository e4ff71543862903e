// Distributed Map against the embedded S3: ItemReader formats, ItemBatcher, ItemSelector,
// MaxConcurrency, tolerated failures and the ResultWriter layout, checked byte by byte.
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { type LambdaInvoker, StepFunctionsRunner } from "../../local/stepfunctions";
import { testS3Client, uniqueName } from "../support/clients";

const fixture = (name: string) =>
  readFileSync(path.join(__dirname, "../fixtures/asl", `${name}.json`), "utf8");
const s3 = testS3Client();

function lambda(fns: Record<string, (e: unknown) => unknown>): LambdaInvoker {
  return {
    async invoke(nameOrArn, payload) {
      const fn = fns[nameOrArn.replace(/^arn:aws:lambda:[^:]+:\d+:function:/, "")]!;
      try {
        return {
          payload: JSON.stringify((await fn(JSON.parse(payload))) ?? null),
          executedVersion: "$LATEST",
          requestId: "r",
        };
      } catch (e) {
        const err = e as Error;
        return {
          payload: JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: [] }),
          functionError: "Unhandled",
          executedVersion: "$LATEST",
          requestId: "r",
        };
      }
    },
  };
}

async function body(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString("utf8");
}

async function run(r: StepFunctionsRunner, def: string, input: unknown) {
  const sm = r.createStateMachine({ name: uniqueName("dmap"), definition: def });
  const { executionArn } = await r.startExecution({
    stateMachineArn: sm.stateMachineArn,
    input: JSON.stringify(input),
  });
  return { sm, exec: await r.waitForExecution(executionArn) };
}

const SUCCEEDED_KEYS = [
  "ExecutionArn",
  "Input",
  "InputDetails",
  "Name",
  "Output",
  "OutputDetails",
  "RedriveCount",
  "RedriveStatus",
  "RedriveStatusReason",
  "StartDate",
  "StateMachineArn",
  "Status",
  "StopDate",
];

let bucket: string;
beforeAll(async () => {
  bucket = uniqueName("dmap");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const lines = Array.from({ length: 5 }, (_, i) => JSON.stringify({ n: i + 1 })).join("\n");
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: "input/items.jsonl", Body: `${lines}\n` }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: "in/data.csv", Body: 'a,b\n1,"x,y"\n2,z\n3,w\n' }),
  );
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "in/noheader.csv", Body: "p,q\n" }));
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: "in/array.json", Body: '[{"k":1},{"k":2}]' }),
  );
});

describe("distributed Map", () => {
  it("reads JSONL, batches with BatchInput, runs child executions with their own context, and writes AWS's ResultWriter layout", async () => {
    let inFlight = 0;
    let peak = 0;
    const r = new StepFunctionsRunner({
      s3,
      emitStatusEvents: false,
      lambda: lambda({
        worker: async (e) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((res) => setTimeout(res, 20));
          inFlight--;
          const ev = e as {
            items: { index: number; value: { n: number } }[];
            batch: unknown;
            executionId: string;
            executionName: string;
            stateMachine: string;
          };
          return {
            sum: ev.items.reduce((s, i) => s + i.value.n, 0),
            indexes: ev.items.map((i) => i.index),
            batch: ev.batch,
            executionId: ev.executionId,
            executionName: ev.executionName,
            stateMachine: ev.stateMachine,
          };
        },
      }),
    });
    const { sm, exec } = await run(r, fixture("distributed-jsonl-batched"), {
      bucket,
      key: "input/items.jsonl",
      run: "r1",
    });
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    const mapRunArn: string = out.map.MapRunArn;
    const mapRunId = mapRunArn.split(":").at(-1)!;
    expect(mapRunArn).toBe(
      `arn:aws:states:us-east-1:000000000000:mapRun:${sm.name}/Fan:${mapRunId}`,
    );
    expect(out.map).toEqual({
      MapRunArn: mapRunArn,
      ResultWriterDetails: { Bucket: bucket, Key: `results/${mapRunId}/manifest.json` },
    });
    expect(peak).toBe(3);

    const succeededKey = `results/${mapRunId}/SUCCEEDED_0.json`;
    const succeeded = await body(bucket, succeededKey);
    const manifest = await body(bucket, `results/${mapRunId}/manifest.json`);
    expect(manifest).toBe(
      JSON.stringify({
        DestinationBucket: bucket,
        MapRunArn: mapRunArn,
        ResultFiles: {
          FAILED: [],
          PENDING: [],
          SUCCEEDED: [{ Key: succeededKey, Size: Buffer.byteLength(succeeded) }],
        },
      }),
    );
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `results/${mapRunId}/` }),
    );
    expect(listed.Contents?.map((c) => c.Key).sort()).toEqual([
      `results/${mapRunId}/SUCCEEDED_0.json`,
      `results/${mapRunId}/manifest.json`,
    ]);

    const entries = JSON.parse(succeeded) as Record<string, unknown>[];
    expect(succeeded).toBe(JSON.stringify(entries));
    expect(entries).toHaveLength(3);
    const children = r.listExecutions({ mapRunArn });
    expect(children).toHaveLength(3);
    for (const [i, entry] of entries.entries()) {
      expect(Object.keys(entry)).toEqual(SUCCEEDED_KEYS);
      const child = children.find((c) => c.executionArn === entry.ExecutionArn)!;
      expect(entry).toEqual({
        ExecutionArn: `arn:aws:states:us-east-1:000000000000:execution:${sm.name}/Fan:${child.name}`,
        Input: child.input,
        InputDetails: { Included: true },
        Name: child.name,
        Output: child.output,
        OutputDetails: { Included: true },
        RedriveCount: 0,
        RedriveStatus: "NOT_REDRIVABLE",
        RedriveStatusReason: "Execution is SUCCEEDED and cannot be redriven",
        StartDate: child.startDate.toISOString(),
        StateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${sm.name}/Fan`,
        Status: "SUCCEEDED",
        StopDate: child.stopDate!.toISOString(),
      });
      const input = JSON.parse(entry.Input as string);
      const expectedIdx = [i * 2, i * 2 + 1].filter((k) => k < 5);
      expect(input).toEqual({
        Items: expectedIdx.map((k) => ({ index: k, value: { n: k + 1 } })),
        BatchInput: { run: "r1" },
      });
      const output = JSON.parse(entry.Output as string);
      expect(output).toEqual({
        sum: expectedIdx.reduce((s, k) => s + k + 1, 0),
        indexes: expectedIdx,
        batch: { run: "r1" },
        executionId: entry.ExecutionArn,
        executionName: child.name,
        stateMachine: `${sm.name}/Fan`,
      });
    }
    const run2 = r.describeMapRun(mapRunArn);
    expect(run2.status).toBe("SUCCEEDED");
    expect(run2.itemCounts).toMatchObject({
      total: 5,
      succeeded: 5,
      failed: 0,
      pending: 0,
      running: 0,
    });
    expect(run2.executionCounts).toMatchObject({ total: 3, succeeded: 3 });
  });

  it("reads CSV (FIRST_ROW with MaxItems, GIVEN), JSON arrays and listObjectsV2; a missing object is States.ItemReaderFailed", async () => {
    const r = new StepFunctionsRunner({ s3, emitStatusEvents: false });
    const { exec } = await run(r, fixture("distributed-readers"), { bucket });
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    expect(out.csv).toEqual([
      { a: "1", b: "x,y" },
      { a: "2", b: "z" },
    ]);
    expect(out.given).toEqual([{ x: "p", y: "q" }]);
    expect(out.json).toEqual([{ k: 1 }, { k: 2 }]);
    expect(out.listed.map((x: { key: string }) => x.key).sort()).toEqual([
      "in/array.json",
      "in/data.csv",
      "in/noheader.csv",
    ]);
    expect(out.listed.find((x: { key: string }) => x.key === "in/array.json").size).toBe(17);
    expect(out.readerError.Error).toBe("States.ItemReaderFailed");
  });

  it("tolerates failures up to ToleratedFailurePercentage and lists them in FAILED_0.json", async () => {
    const r = new StepFunctionsRunner({
      s3,
      emitStatusEvents: false,
      lambda: lambda({
        maybe: (e) => {
          if ((e as { fail?: boolean }).fail) {
            const err = new Error("item failed");
            err.name = "ItemError";
            throw err;
          }
          return e;
        },
      }),
    });
    const items = [{ fail: true }, { v: 1 }, { v: 2 }, { v: 3 }];
    const { exec } = await run(r, fixture("distributed-tolerated"), { bucket, items, pct: 25 });
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    expect(out.failure).toBeUndefined();
    const mapRunId = (out.MapRunArn as string).split(":").at(-1)!;
    expect((out.MapRunArn as string).split(":").at(-2)).toMatch(/\/Fan$/);
    const manifest = JSON.parse(await body(bucket, `tolerated/out/${mapRunId}/manifest.json`));
    expect(manifest.ResultFiles.FAILED).toHaveLength(1);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    const failed = JSON.parse(await body(bucket, `tolerated/out/${mapRunId}/FAILED_0.json`));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      Status: "FAILED",
      Error: "ItemError",
      Input: '{"fail":true}',
    });
    expect(failed[0].ExecutionArn).toMatch(/^arn:aws:states:us-east-1:000000000000:express:/);
    expect(JSON.parse(failed[0].Cause)).toMatchObject({
      errorType: "ItemError",
      errorMessage: "item failed",
    });
    expect(failed[0].Output).toBeUndefined();
  });

  it("fails with States.ExceedToleratedFailureThreshold once failures exceed the threshold", async () => {
    const r = new StepFunctionsRunner({
      s3,
      emitStatusEvents: false,
      lambda: lambda({
        maybe: (e) => {
          if ((e as { fail?: boolean }).fail) throw new Error("bad");
          return e;
        },
      }),
    });
    const items = [{ fail: true }, { fail: true }, { v: 1 }, { v: 2 }];
    const { exec } = await run(r, fixture("distributed-tolerated"), { bucket, items, pct: 25 });
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    expect(out.failure.Error).toBe("States.ExceedToleratedFailureThreshold");
    // Uncaught, the same definition fails the execution with that error.
    const strict = JSON.parse(fixture("distributed-tolerated"));
    delete strict.States.Fan.Catch;
    delete strict.States.Fan.ToleratedFailurePercentagePath;
    const { exec: exec2 } = await run(r, JSON.stringify(strict), {
      bucket,
      items: [{ v: 1 }, { fail: true }],
    });
    expect(exec2.status).toBe("FAILED");
    expect(exec2.error).toBe("States.ExceedToleratedFailureThreshold");
    const mapRun = r.listMapRuns(exec2.executionArn)[0]!;
    expect(mapRun.status).toBe("FAILED");
    expect(mapRun.itemCounts.failed).toBe(1);
  });
});
