// What an export and a GC run publish and leave for others to read, on the real app
// (test/support/lakeport-env.ts): the export status step's and the GC summary step's EMF lines
// (names, units, dimension sets, values matching the run), as the local Lambda runtime kept
// them from the functions' stdout; no tracing output without an X-Ray daemon; and the S3
// Batch Operations manifest (S3 Inventory format) and the JSON Lines manifest's URIs of an export whose keys
// need URL-encoding (spaces, unicode, '+', ',', '/'), checked against the exported objects,
// after a first (full) export and after an incremental one reusing manifest parts.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBatchOperationsCsvLine } from "../../lambdas/export/domain/batch-operations-manifest";
import type { ManifestIndex } from "../../lambdas/export/domain/manifest";
import { EXPORT_METRICS, GC_METRICS } from "../../lambdas/shared/run-metrics";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
  type TestRepository,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
let repo: TestRepository;
const outBucket = uniqueName("metrics-out");
const DAY = 86_400;

const KEYS_NEEDING_ENCODING = [
  "data/with space.txt",
  "data/ünïcødé ñ/日本.txt",
  "data/a+b=c&d.txt",
  "data/x,y/z.txt",
  "top%20literal.txt",
];

beforeAll(async () => {
  env = await startLakeportEnvironment();
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
  repo = await createLakeFsRepository(env, { webhook: false });
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** The lines a deployed function wrote to stdout/stderr, as the runtime kept them. */
function linesOf(logicalId: string): string[] {
  return env.deployment.runtime.logs(env.deployment.physicalId(logicalId));
}

/** The EMF documents among a function's lines. */
function emfOf(logicalId: string): Emf[] {
  return linesOf(logicalId).flatMap((line) => {
    try {
      const v = JSON.parse(line) as Emf;
      return v && typeof v === "object" && v._aws ? [v] : [];
    } catch {
      return [];
    }
  });
}

function unitsOf(doc: Emf): Record<string, string> {
  return Object.fromEntries(doc._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
}

async function text(bucket: string, key: string): Promise<string> {
  const out = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString("utf8");
}

async function exportedObjects(prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await env.s3.send(
      new ListObjectsV2Command({ Bucket: outBucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key!.endsWith("_lakefs_success")) found.set(o.Key!, o.Size ?? 0);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

async function exportHead(): Promise<{ exportId: string; commitId: string }> {
  const run = await env.api.post(`/repositories/${repo.id}/branches/main/export-hook`);
  expect(run.status, run.text).toBe(202);
  const exportId = run.body.exportId as string;
  const done = await eventually(
    "the export to end",
    async () => {
      const s = (await env.api.get(`/repositories/${repo.id}/branches/main/export-status`)).body;
      return s?.exportId === exportId && s.state !== "in-progress" ? s : undefined;
    },
    120_000,
  );
  expect(done.state).toBe("exported-successfully");
  const head = await env.lakefs.getBranch(repo.id, "main");
  return { exportId, commitId: head.commit_id };
}

/**
 * The Batch Operations manifest (manifest.json and its gzip CSV files, read as Batch Operations
 * reads them) and the JSON Lines manifest of a commit, checked against S3. Returns the CSV lines.
 */
async function checkManifests(commitId: string): Promise<string[]> {
  const exportPrefix = `${repo.id}/exp/`;
  const base = `${repo.id}/status/${repo.id}-main-${commitId}`;
  const exported = await exportedObjects(exportPrefix);
  const batch = JSON.parse(await text(outBucket, `${base}.manifest.batch-operations.json`));
  expect(batch).toMatchObject({
    sourceBucket: outBucket,
    destinationBucket: `arn:aws:s3:::${outBucket}`,
    version: "2016-11-30",
    fileFormat: "CSV",
    fileSchema: "Bucket, Key",
  });
  const lines: string[] = [];
  for (const f of batch.files as { key: string; size: number; MD5checksum: string }[]) {
    const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: f.key }));
    const stored = Buffer.from(await got.Body!.transformToByteArray());
    expect(stored.byteLength).toBe(f.size);
    expect(createHash("md5").update(stored).digest("hex")).toBe(f.MD5checksum);
    const csv = gunzipSync(stored).toString("utf8");
    expect(csv.endsWith("\n")).toBe(true);
    lines.push(...csv.slice(0, -1).split("\n"));
  }
  // One `"bucket","key"` per exported object; the key URL-encoded as S3 requires.
  for (const line of lines) {
    const { bucket, key } = parseBatchOperationsCsvLine(line);
    expect(bucket).toBe(outBucket);
    expect(line).toBe(`"${outBucket}","${encodeURIComponent(key)}"`);
    expect(line.split(",")).toHaveLength(2);
    expect(line).not.toMatch(/[ +]/);
  }
  const csvKeys = lines.map((l) => parseBatchOperationsCsvLine(l).key);
  expect(new Set(csvKeys).size).toBe(csvKeys.length);
  expect([...csvKeys].sort()).toEqual([...exported.keys()].sort());

  const index = JSON.parse(await text(outBucket, `${base}.manifest.json`)) as ManifestIndex;
  expect(index).toMatchObject({
    version: 4,
    bucket: outBucket,
    batchOperationsManifest: `${base}.manifest.batch-operations.json`,
  });
  expect(index.parts.map((p) => p.csv?.key)).toEqual(
    batch.files.map((f: { key: string }) => f.key),
  );
  const entries = [];
  for (const part of index.parts) {
    for (const line of (await text(outBucket, part.key)).split("\n").filter(Boolean)) {
      entries.push(JSON.parse(line) as { key: string; uri: string; size: number });
    }
  }
  expect(entries.map((e) => e.key)).toEqual(csvKeys);
  for (const e of entries) {
    expect(e.uri).toBe(`s3://${outBucket}/${e.key}`);
    expect(e.size).toBe(exported.get(e.key));
  }
  const status = JSON.parse(await text(outBucket, `${base}.status.json`));
  expect(status.batchOperationsManifest).toBe(`${base}.manifest.batch-operations.json`);
  return lines;
}

describe("an export", () => {
  it("writes a Batch Operations manifest and URIs matching the exported objects, and EMF metrics", async () => {
    for (const [i, p] of KEYS_NEEDING_ENCODING.entries()) {
      await env.lakefs.uploadObject(repo.id, "main", p, { content: `content ${i} `.repeat(i + 1) });
    }
    await env.lakefs.commit(repo.id, "main", { message: "keys that need encoding" });
    const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
      exportPath: `s3://${outBucket}/${repo.id}/exp`,
      exportStatusPath: `s3://${outBucket}/${repo.id}/status`,
      isContinuous: false,
    });
    expect(put.status, put.text).toBe(200);
    const first = await exportHead();
    const lines = await checkManifests(first.commitId);
    expect(lines).toContain(`"${outBucket}","${repo.id}%2Fexp%2Fdata%2Fwith%20space.txt"`);
    expect(lines).toContain(`"${outBucket}","${repo.id}%2Fexp%2Fdata%2Fa%2Bb%3Dc%26d.txt"`);
    expect(lines).toContain(`"${outBucket}","${repo.id}%2Fexp%2Fdata%2Fx%2Cy%2Fz.txt"`);
    expect(lines).toContain(`"${outBucket}","${repo.id}%2Fexp%2Ftop%2520literal.txt"`);
    expect(lines).toContain(
      `"${outBucket}","${repo.id}%2Fexp%2Fdata%2F%C3%BCn%C3%AFc%C3%B8d%C3%A9%20%C3%B1%2F%E6%97%A5%E6%9C%AC.txt"`,
    );

    // The status step's EMF line for this export: names, units, dimension sets, values.
    const emf = emfOf("LakeportExportStatusFunction").filter(
      (d) => d.repository === repo.id && d.ObjectsCopied === KEYS_NEEDING_ENCODING.length,
    );
    expect(emf).toHaveLength(1);
    const [doc] = emf as [Emf];
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: "Lakeport",
      Dimensions: [["service"], ["service", "repository"], ["service", "repository", "branch"]],
    });
    expect(doc).toMatchObject({
      service: "lakeport-export",
      repository: repo.id,
      branch: "main",
      [EXPORT_METRICS.objectsDeleted]: 0,
      [EXPORT_METRICS.copyFailures]: 0,
    });
    const sizes = [...(await exportedObjects(`${repo.id}/exp/`)).values()];
    expect(doc[EXPORT_METRICS.bytesCopied]).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(doc[EXPORT_METRICS.exportLagSeconds]).toBeGreaterThanOrEqual(0);
    expect(doc[EXPORT_METRICS.exportLagSeconds]).toBeLessThan(600);
    expect(unitsOf(doc)).toEqual({
      [EXPORT_METRICS.objectsCopied]: "Count",
      [EXPORT_METRICS.objectsDeleted]: "Count",
      [EXPORT_METRICS.bytesCopied]: "Bytes",
      [EXPORT_METRICS.copyFailures]: "Count",
      [EXPORT_METRICS.exportLagSeconds]: "Seconds",
    });

    // Incremental: one change, one delete; the CSV files still list every exported object.
    await env.lakefs.uploadObject(repo.id, "main", "data/new one+.txt", { content: "new" });
    await env.lakefs.deleteObject(repo.id, "main", "data/with space.txt");
    await env.lakefs.commit(repo.id, "main", { message: "one change" });
    const second = await exportHead();
    const after = await checkManifests(second.commitId);
    expect(after).toContain(`"${outBucket}","${repo.id}%2Fexp%2Fdata%2Fnew%20one%2B.txt"`);
    expect(after).not.toContain(`"${outBucket}","${repo.id}%2Fexp%2Fdata%2Fwith%20space.txt"`);
    const incremental = emfOf("LakeportExportStatusFunction").filter(
      (d) => d.repository === repo.id && d[EXPORT_METRICS.objectsDeleted] === 1,
    );
    expect(incremental).toHaveLength(1);
    expect(incremental[0]![EXPORT_METRICS.objectsCopied]).toBe(1);
  }, 240_000);
});

describe("a GC run", () => {
  it("publishes ObjectsMarked, ObjectsSwept and GcRunSeconds per repository", async () => {
    const gcRepo = await createLakeFsRepository(env, { webhook: false });
    const now = Math.floor(Date.now() / 1000);
    await env.lakefs.uploadObject(gcRepo.id, "main", "a", { content: "old" });
    await env.lakefs.commit(gcRepo.id, "main", { message: "old", date: now - 20 * DAY });
    await env.lakefs.uploadObject(gcRepo.id, "main", "a", { content: "new" });
    await env.lakefs.commit(gcRepo.id, "main", { message: "new", date: now - 15 * DAY });
    await env.lakefs.uploadObject(gcRepo.id, "main", "a", { content: "newest" });
    await env.lakefs.commit(gcRepo.id, "main", { message: "newest", date: now - DAY });
    const rules = path.join(os.tmpdir(), `${gcRepo.id}-rules.json`);
    writeFileSync(rules, JSON.stringify({ default_retention_days: 5, branches: [] }));
    expect(
      (await env.lakeport(["gc", "set-config", `lakefs://${gcRepo.id}`, "-f", rules])).code,
    ).toBe(0);
    const r = await env.lakeport(["gc", "run", `lakefs://${gcRepo.id}`, "--wait", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.status).toBe("succeeded");
    expect(run.counts.deletedObjects).toBeGreaterThan(0);

    const emf = emfOf("LakeportGcSummaryFunction").filter((d) => d.repository === gcRepo.id);
    expect(emf).toHaveLength(1);
    const [doc] = emf as [Emf];
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: "Lakeport",
      Dimensions: [["service"], ["service", "repository"]],
    });
    expect(doc).toMatchObject({
      service: "lakeport-gc",
      [GC_METRICS.objectsMarked]: run.counts.markedAddresses,
      [GC_METRICS.objectsSwept]: run.counts.deletedObjects,
    });
    expect(doc.branch).toBeUndefined();
    expect(doc[GC_METRICS.gcRunSeconds]).toBeGreaterThanOrEqual(0);
    expect(unitsOf(doc)).toEqual({
      [GC_METRICS.objectsMarked]: "Count",
      [GC_METRICS.objectsSwept]: "Count",
      [GC_METRICS.gcRunSeconds]: "Seconds",
    });
  }, 240_000);
});

it("tracing stays silent without an X-Ray daemon: no trace or segment output", () => {
  for (const id of ["LakeportExportStatusFunction", "LakeportGcSummaryFunction"]) {
    const lines = linesOf(id);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => /x-?ray|segment|tracer/i.test(l))).toEqual([]);
  }
});
