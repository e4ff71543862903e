// The export's pure domain and S3 engine composed the way the workflow will compose them
// (plan -> shards -> copy batches -> marker summaries -> marker levels -> status), against the
// embedded S3 with a small in-memory lakeFS. The workflow, handlers and the lakeFS development
// server come later; this pins what the pieces do together.
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { ExportPathObjects } from "../../lambdas/export/app/export-path-listing";
import { runExportShard } from "../../lambdas/export/app/run-export-shard";
import { compareKeys } from "../../lambdas/export/domain/keys";
import {
  ancestorsOfFailedMarkers,
  compileDirectorySelector,
  hasExportedObjectUnder,
  markerKey,
  mergeMarkerSummaries,
  parseMarkerSummaryLine,
  partitionMarkerLevels,
} from "../../lambdas/export/domain/markers";
import { planExport } from "../../lambdas/export/domain/plan";
import { addShardResult, emptyTotals } from "../../lambdas/export/domain/results";
import {
  decideExportStatus,
  formatStatusLine,
  parseStatusLine,
  statusKeys,
} from "../../lambdas/export/domain/status";
import { S3ObjectStore } from "../../lambdas/shared/aws/s3-object-store";
import type {
  Diff,
  ListObjectsOptions,
  ObjectStats,
  Page,
} from "../../lambdas/shared/lakefs/types";
import { deleteObjects, writeEmptyObjects } from "../../lambdas/shared/s3-copy";
import { S3AdminClient } from "../../local/s3/admin-client";
import { testS3Client, uniqueName } from "../support/clients";

interface Obj {
  body: string;
  contentType: string;
  metadata: Record<string, string>;
}

/** Commits are snapshots path -> object; physical objects are stored in the namespace bucket. */
class TinyLakeFs {
  calls = 0;
  readonly commits = new Map<string, Map<string, ObjectStats>>();
  constructor(
    private readonly s3: S3Client,
    private readonly ns: string,
  ) {}

  async commit(id: string, parent: string | null, changes: Record<string, Obj | null>) {
    const snapshot = new Map(parent ? this.commits.get(parent) : []);
    for (const [path, obj] of Object.entries(changes)) {
      if (obj === null) {
        snapshot.delete(path);
        continue;
      }
      const key = `data/${id}/${path}`;
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.ns,
          Key: key,
          Body: obj.body,
          ContentType: "application/x-physical",
        }),
      );
      snapshot.set(path, {
        path,
        path_type: "object",
        physical_address: `s3://${this.ns}/${key}`,
        checksum: `${id}-${path}`,
        size_bytes: Buffer.byteLength(obj.body),
        mtime: 0,
        content_type: obj.contentType,
        metadata: obj.metadata,
      });
    }
    this.commits.set(id, snapshot);
  }

  private sorted(ref: string) {
    return [...this.commits.get(ref)!.values()].sort((a, b) => compareKeys(a.path, b.path));
  }

  private page<T>(
    all: T[],
    key: (t: T) => string,
    o: { after?: string; amount?: number },
  ): Page<T> {
    const start = all.filter((x) => !o.after || compareKeys(key(x), o.after) > 0);
    const results = start.slice(0, o.amount ?? 100);
    const more = start.length > results.length;
    return {
      results,
      pagination: {
        has_more: more,
        next_offset: more ? key(results.at(-1)!) : "",
        results: results.length,
        max_per_page: 1000,
      },
    };
  }

  async listObjectsPage(_r: string, ref: string, o: ListObjectsOptions = {}) {
    this.calls++;
    const all = this.sorted(ref).filter((s) => !o.prefix || s.path.startsWith(o.prefix));
    return this.page(all, (s) => s.path, o);
  }

  async *listObjects(r: string, ref: string, o: ListObjectsOptions = {}) {
    let after = o.after;
    for (;;) {
      const p = await this.listObjectsPage(r, ref, { ...o, after });
      yield p;
      if (!p.pagination.has_more) return;
      after = p.pagination.next_offset;
    }
  }

  async statObject(_r: string, ref: string, path: string) {
    this.calls++;
    const s = this.commits.get(ref)!.get(path);
    if (!s) throw new Error(`404 ${path}`);
    return s;
  }

  async *diffRefs(
    _r: string,
    left: string,
    right: string,
    o: { after?: string; amount?: number } = {},
  ) {
    const l = this.commits.get(left)!;
    const r = this.commits.get(right)!;
    const paths = [...new Set([...l.keys(), ...r.keys()])].sort(compareKeys);
    const diffs: Diff[] = [];
    for (const path of paths) {
      const a = l.get(path);
      const b = r.get(path);
      if (a && !b) diffs.push({ type: "removed", path, path_type: "object" });
      else if (!a && b) diffs.push({ type: "added", path, path_type: "object" });
      else if (a && b && a.checksum !== b.checksum)
        diffs.push({ type: "changed", path, path_type: "object" });
    }
    let after = o.after;
    for (;;) {
      this.calls++;
      const p = this.page(diffs, (d) => d.path, { after, amount: o.amount });
      yield p;
      if (!p.pagination.has_more) return;
      after = p.pagination.next_offset;
    }
  }
}

let s3: S3Client;
let admin: S3AdminClient;
let ns: string;
let dest: string;
let lakefs: TinyLakeFs;
const regexes = ["^logs/[^/]+/$", "^tables/"];
const prefix = "export/main";
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

const obj = (
  body: string,
  contentType = "text/plain",
  metadata: Record<string, string> = {},
): Obj => ({
  body,
  contentType,
  metadata,
});

/** One export, composed as the workflow will. Returns what its status line says. */
async function runExport(from: string | null, to: string, repaired = false) {
  const selector = compileDirectorySelector(regexes);
  const shards: string[] = [];
  await planExport(
    lakefs,
    {
      write: async (i, lines) => {
        shards[i] = `${lines.join("\n")}\n`;
      },
    },
    {
      repository: "repo",
      fromCommit: from,
      commitId: to,
      exportPrefix: prefix,
      // A first export lists the export path (whatever else is there is deleted).
      ...(from === null
        ? { exported: new ExportPathObjects(new S3ObjectStore(s3), dest, prefix) }
        : {}),
    },
    { limits: { maxTasksPerShard: 3 } },
  );
  let totals = emptyTotals();
  const summaries: string[][] = [];
  for (const [i, body] of shards.entries()) {
    const out = await runExportShard(
      s3,
      { shardIndex: i, body, destBucket: dest, selector },
      { concurrency: 4, retry: fast },
    );
    totals = addShardResult(totals, out.result);
    summaries.push(out.markerSummaryLines);
  }
  async function* lines(ls: string[]) {
    for (const l of ls) yield parseMarkerSummaryLine(l);
  }
  const levels = new Map<number, string[]>();
  const checks = new Map<number, string[]>();
  const index = await partitionMarkerLevels(mergeMarkerSummaries(summaries.map(lines)), {
    write: async (depth, _part, part) => {
      levels.set(depth, [...(levels.get(depth) ?? []), ...part.dirs]);
      checks.set(depth, [...(checks.get(depth) ?? []), ...part.check]);
    },
  });
  const failedMarkerDirs: string[] = [];
  let markers = 0;
  for (const level of index.levels) {
    const blocked = ancestorsOfFailedMarkers(failedMarkerDirs);
    const dirs = (levels.get(level.depth) ?? []).filter((d) => !blocked.has(d));
    // Directories with only deletes under them: kept when the commit still has objects there.
    const emptied: string[] = [];
    for (const d of checks.get(level.depth) ?? []) {
      if (blocked.has(d)) continue;
      if (await hasExportedObjectUnder(lakefs, "repo", to, d)) dirs.push(d);
      else emptied.push(d);
    }
    await deleteObjects(
      s3,
      dest,
      emptied.map((d) => markerKey(prefix, d)),
    );
    const out = await writeEmptyObjects(
      s3,
      dest,
      dirs.map((d) => markerKey(prefix, d)),
      { retry: fast },
    );
    markers += out.written;
    for (const f of out.failed)
      failedMarkerDirs.push(f.key.slice(prefix.length + 1, -"_lakefs_success".length));
  }
  const { status, signalledErrors } = decideExportStatus({
    failedOperations: totals.failed + failedMarkerDirs.length,
    repaired,
  });
  const keys = statusKeys("status", "repo", "main", to);
  await s3.send(
    new PutObjectCommand({
      Bucket: dest,
      Key: keys.statusLine,
      Body: formatStatusLine(status, signalledErrors),
    }),
  );
  return { status, signalledErrors, totals, markers };
}

async function listAll(bucket: string, p: string) {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: p, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

async function read(key: string) {
  const o = await s3.send(new GetObjectCommand({ Bucket: dest, Key: key }));
  return {
    body: await o.Body!.transformToString(),
    contentType: o.ContentType,
    metadata: o.Metadata,
  };
}

/** The export path holds exactly the commit's objects (plus markers), bytes and headers included. */
async function expectMirror(commit: string, markerDirs: string[]) {
  const snapshot = lakefs.commits.get(commit)!;
  const exported = [...snapshot.keys()].filter((p) => !p.startsWith("_lakefs_actions/"));
  const expectedKeys = [
    ...exported.map((p) => `${prefix}/${p}`),
    ...markerDirs.map((d) => markerKey(prefix, d)),
  ].sort();
  expect(await listAll(dest, `${prefix}/`)).toEqual(expectedKeys);
  for (const [path, stats] of snapshot) {
    if (!exported.includes(path)) continue;
    const got = await read(`${prefix}/${path}`);
    expect(got.contentType).toBe(stats.content_type);
    expect(got.metadata).toEqual(stats.metadata);
    expect(Buffer.byteLength(got.body)).toBe(stats.size_bytes);
  }
}

beforeAll(async () => {
  s3 = testS3Client();
  admin = new S3AdminClient(inject("s3Endpoint"));
  ns = uniqueName("ns");
  dest = uniqueName("exp");
  await s3.send(new CreateBucketCommand({ Bucket: ns }));
  await s3.send(new CreateBucketCommand({ Bucket: dest }));
  lakefs = new TinyLakeFs(s3, ns);
});

describe("export pieces composed", () => {
  it("first export, incremental exports, a failure and a repair", async () => {
    await lakefs.commit("c1", null, {
      "logs/2021-03-04/a.log": obj("a1"),
      "logs/2021-03-04/b.log": obj("b1"),
      "logs/2021-03-05/a.log": obj("a2"),
      "tables/t1/part-0.parquet": obj("p0", "application/x-parquet", { rows: "10" }),
      "tables/t1/part-1.parquet": obj("p1", "application/x-parquet", { rows: "11" }),
      "readme.md": obj("# hi", "text/markdown"),
      "_lakefs_actions/export.yaml": obj("hooks: []", "application/x-yaml"),
    });
    const first = await runExport(null, "c1");
    expect(first).toMatchObject({
      status: "exported-successfully",
      signalledErrors: 0,
      markers: 4,
    });
    // _lakefs_actions/ is lakeFS configuration: not exported
    expect(first.totals).toMatchObject({ copied: 6, deleted: 0, failed: 0 });
    const markers1 = ["logs/2021-03-04/", "logs/2021-03-05/", "tables/", "tables/t1/"];
    await expectMirror("c1", markers1);
    expect(parseStatusLine((await read("status/repo-main-c1")).body)).toEqual({
      status: "exported-successfully",
      signalledErrors: 0,
    });

    // incremental: one object changed in a 7-object branch
    await lakefs.commit("c2", "c1", {
      "tables/t1/part-1.parquet": obj("p1-v2", "application/x-parquet", { rows: "12" }),
    });
    await admin.resetRequestCounts({ bucket: dest });
    await admin.resetRequestCounts({ bucket: ns });
    lakefs.calls = 0;
    const second = await runExport("c1", "c2");
    expect(second).toMatchObject({ status: "exported-successfully", markers: 2 });
    expect(second.totals).toMatchObject({ copied: 1, deleted: 0 });
    expect(lakefs.calls).toBe(2); // the diff page and one stat
    const s3Requests =
      (await admin.requestCounts({ bucket: dest })).total +
      (await admin.requestCounts({ bucket: ns })).total;
    expect(s3Requests).toBeLessThan(10); // copy, 2 markers, status line
    expect((await read(`${prefix}/tables/t1/part-1.parquet`)).body).toBe("p1-v2");
    await expectMirror("c2", markers1);

    // add, change, delete; the destination of one directory is not writable
    await lakefs.commit("c3", "c2", {
      "logs/2021-03-04/b.log": null,
      "logs/2021-03-06/c.log": obj("c3"),
      "tables/t2/part-0.parquet": obj("t2", "application/x-parquet", { rows: "1" }),
      "readme.md": obj("# hello", "text/markdown"),
    });
    const deny = await admin.deny({ bucket: dest, prefix: `${prefix}/tables/t2/` });
    const third = await runExport("c2", "c3");
    await admin.removeDenyRule(deny.id);
    expect(third).toMatchObject({ status: "export-failed", signalledErrors: 1 });
    expect(third.totals.errorSamples).toEqual([
      { path: "tables/t2/part-0.parquet", code: "AccessDenied", message: expect.any(String) },
    ]);
    // tables/ and tables/t2/ withheld; the log directories got theirs
    expect(await listAll(dest, `${prefix}/tables/t2/`)).toEqual([]);
    expect(await listAll(dest, `${prefix}/logs/2021-03-06/`)).toEqual([
      `${prefix}/logs/2021-03-06/_lakefs_success`,
      `${prefix}/logs/2021-03-06/c.log`,
    ]);
    expect((await read("status/repo-main-c3")).body).toBe(
      "status: export-failed, signalled_errors: 1\n",
    );

    // repair: the same range again; now it succeeds and says so
    const repaired = await runExport("c2", "c3", true);
    expect(repaired).toMatchObject({ status: "export-repaired", signalledErrors: 0 });
    await expectMirror("c3", [...markers1, "logs/2021-03-06/", "tables/t2/"]);

    // a commit that empties a directory: its objects and its marker are gone
    await lakefs.commit("c4", "c3", {
      "logs/2021-03-05/a.log": null,
      "tables/t2/part-0.parquet": null,
    });
    const fourth = await runExport("c3", "c4");
    expect(fourth).toMatchObject({ status: "exported-successfully", signalledErrors: 0 });
    await expectMirror("c4", ["logs/2021-03-04/", "logs/2021-03-06/", "tables/", "tables/t1/"]);
    expect((await read("status/repo-main-c3")).body).toBe(
      "status: export-repaired, signalled_errors: 0\n",
    );
  });
});
