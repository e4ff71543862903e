// Export benchmarks through the full local pipeline: a lakeFS commit fires the post-commit
// webhook to the API, which puts an event on the bus, whose rule invokes the trigger Lambda,
// which starts the export state machine, which writes the status file. Completion is
// observed on the local Step Functions runner (no extra S3 or lakeFS requests), then the
// result is checked: status line, and the export path listed against the commit (keys and
// ETags), so a fast but wrong export fails the benchmark.
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { lakeportActionYaml } from "../local/lakeport-action";
import { apiCall, type BenchEnv, LAKEFS_KEYS } from "./env";
import {
  bulkStageObjects,
  linkEntry,
  linkObjects,
  type PhysicalObject,
  writePhysicalObjects,
} from "./populate";
import { lambdasQuiet, type PhaseRecorder, type PhaseUsage } from "./usage";

export class BenchFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchFailure";
  }
}

export interface ExportBranch {
  repo: string;
  branch: string;
  objects: number;
  exportBucket: string;
  exportPrefix: string;
  statusPrefix: string;
}

const pathOf = (i: number) =>
  `data/${String(i % 100).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.bin`;

/** A repository whose main branch stages `objects` paths linked to the pool (not committed). */
export async function prepareExportBranch(
  env: BenchEnv,
  opts: {
    repo: string;
    nsBucket: string;
    exportBucket: string;
    objects: number;
    pool: PhysicalObject[];
  },
): Promise<ExportBranch> {
  const { repo } = opts;
  await env.lakefs.createRepository({
    name: repo,
    storage_namespace: `s3://${opts.nsBucket}/repos/${repo}`,
  });
  await env.lakefs.uploadObject(repo, "main", "_lakefs_actions/lakeport.yaml", {
    content: lakeportActionYaml(`${env.api.endpoint}/api/v1/webhooks/lakefs`),
  });
  // Bulk staging: the same staged entries as one link call per path, fast enough for 1 M.
  await bulkStageObjects(
    { endpoint: env.lakefsServer.endpoint, credentials: LAKEFS_KEYS },
    repo,
    "main",
    opts.objects,
    (i) => linkEntry(pathOf(i), opts.pool[i % opts.pool.length]!),
  );
  const b: ExportBranch = {
    repo,
    branch: "main",
    // _lakefs_actions/lakeport.yaml is committed but never exported.
    objects: opts.objects,
    exportBucket: opts.exportBucket,
    exportPrefix: `${repo}/latest`,
    statusPrefix: `${repo}/status`,
  };
  await apiCall(env, "PUT", `/repositories/${repo}/branches/main/continuous-export`, {
    exportPath: `s3://${b.exportBucket}/${b.exportPrefix}`,
    exportStatusPath: `s3://${b.exportBucket}/${b.statusPrefix}`,
    isContinuous: true,
  });
  // Enabling exports the current head (the repository's first commit) at once; the measured
  // commit comes after that export, not queued behind it.
  await exportSettled(env, b, 120_000);
  return b;
}

/** Waits until the branch's export state is no longer in progress. */
export async function exportSettled(
  env: BenchEnv,
  b: ExportBranch,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, json } = await apiCall<{ state?: string }>(
      env,
      "GET",
      `/repositories/${b.repo}/branches/${b.branch}/export-status`,
    );
    if (status === 200 && json.state !== undefined && json.state !== "in-progress") {
      if (json.state !== "exported-successfully") {
        throw new BenchFailure(`the export on enabling ${b.repo} ended ${json.state}`);
      }
      await lambdasQuiet(env, 200);
      return;
    }
    if (Date.now() > deadline) {
      throw new BenchFailure(
        `the export on enabling ${b.repo} did not end: ${status} ${json.state}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Changes `count` paths of the branch to new objects (staged, not committed). */
export async function stageChanges(
  env: BenchEnv,
  b: ExportBranch,
  nsBucket: string,
  count: number,
  round: number,
) {
  const fresh = await writePhysicalObjects(
    env.s3,
    nsBucket,
    `repos/${b.repo}/changes-${round}/`,
    count,
    `change ${round}`,
  );
  const step = Math.max(1, Math.floor((b.objects - 1) / count));
  await linkObjects(
    env.lakefs,
    b.repo,
    b.branch,
    count,
    (i) => pathOf(i * step),
    (i) => fresh[i]!,
  );
}

/**
 * Commits the staged changes and waits until every export execution started by it has ended
 * (follow-ups included) and the Lambdas are idle. Returns the commit id.
 */
export async function commitAndAwaitExport(
  env: BenchEnv,
  b: ExportBranch,
  message: string,
  timeoutMs: number,
): Promise<{ commitId: string; seconds: number; commitSeconds: number }> {
  const machine = env.cloud.deployment.arn("LakeportExportStateMachine");
  const since = Date.now();
  const commit = await env.lakefs.commit(b.repo, b.branch, { message });
  // lakeFS's own commit (its answer comes before its webhooks are sent).
  const commitSeconds = (Date.now() - since) / 1000;
  const deadline = Date.now() + timeoutMs;
  const ours = () =>
    env.cloud.runner
      .listExecutions({ stateMachineArn: machine })
      .filter((e) => e.startDate.getTime() >= since);
  for (;;) {
    if (Date.now() > deadline || (ours().length === 0 && Date.now() - since > 60_000)) {
      throw new BenchFailure(
        `export of ${b.repo}@${commit.id} did not end within ${(Date.now() - since) / 1000} s: ${await describePipeline(env, b, ours())}`,
      );
    }
    const running = ours();
    if (running.length > 0 && running.every((e) => e.status !== "RUNNING")) {
      await env.lakefsServer.hooksSettled();
      await lambdasQuiet(env, 500);
      if (ours().every((e) => e.status !== "RUNNING")) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // Commit to the end of the last export execution (its status file is written just before):
  // the polling and the quiet period above are not counted.
  const lastStop = Math.max(...ours().map((e) => e.stopDate?.getTime() ?? Date.now()));
  const seconds = (lastStop - since) / 1000;
  const failed = ours().filter((e) => e.status !== "SUCCEEDED");
  if (failed.length) {
    throw new BenchFailure(
      `export execution ${failed[0]!.name} of ${b.repo} ended ${failed[0]!.status}: ${failed[0]!.error ?? ""} ${failed[0]!.cause ?? ""}`.slice(
        0,
        600,
      ),
    );
  }
  return { commitId: commit.id, seconds, commitSeconds };
}

/** Where the pipeline stands, for a failure message: webhook calls and executions. */
async function describePipeline(
  env: BenchEnv,
  b: ExportBranch,
  executions: { name: string; status: string }[],
) {
  const hooks = (await env.lakefsServer.hookRuns().catch(() => []))
    .filter((h) => h.event.repository_id === b.repo)
    .map((h) => `${h.event.event_type} -> ${h.status ?? h.error}`);
  return `webhooks [${hooks.join("; ")}], executions [${executions.map((e) => `${e.name} ${e.status}`).join("; ")}]`;
}

async function text(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await o.Body!.transformToString("utf8");
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return undefined;
    throw err;
  }
}

async function* s3Keys(s3: S3Client, bucket: string, prefix: string) {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        MaxKeys: 1000,
      }),
    );
    for (const c of page.Contents ?? [])
      yield { key: c.Key!.slice(prefix.length), etag: c.ETag!.replace(/"/g, "") };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * The export is right when: the status line says exported-successfully with no errors, the
 * API state is exported at this commit, and the export path holds exactly the commit's paths
 * with the commit's checksums as ETags (both listings stream in UTF-8 byte order).
 */
export async function verifyExport(
  env: BenchEnv,
  b: ExportBranch,
  commitId: string,
): Promise<void> {
  const statusKey = `${b.statusPrefix}/${b.repo}-${b.branch}-${commitId}`;
  const line = await text(env.s3, b.exportBucket, statusKey);
  if (line === undefined)
    throw new BenchFailure(`no status file s3://${b.exportBucket}/${statusKey}`);
  if (!/^status: exported-successfully, signalled_errors: 0\s*$/.test(line)) {
    throw new BenchFailure(`status file of ${b.repo}@${commitId} says: ${line.trim()}`);
  }
  const st = (
    await apiCall(env, "GET", `/repositories/${b.repo}/branches/${b.branch}/export-status`)
  ).json;
  if (st.state !== "exported-successfully" || st.lastExportedCommit !== commitId) {
    throw new BenchFailure(
      `export state of ${b.repo}: ${st.state} at ${st.lastExportedCommit}, expected ${commitId}`,
    );
  }
  await verifyPathEqualsCommit(env, b, commitId, b.exportPrefix);
}

/**
 * `s3://<exportBucket>/<prefix>/` holds exactly the objects of the commit (`_lakefs_actions/`
 * aside), keys in order and ETags equal to lakeFS's checksums.
 */
export async function verifyPathEqualsCommit(
  env: BenchEnv,
  b: ExportBranch,
  commitId: string,
  prefix: string,
): Promise<void> {
  const where = `s3://${b.exportBucket}/${prefix}`;
  const exported = s3Keys(env.s3, b.exportBucket, `${prefix}/`)[Symbol.asyncIterator]();
  let n = 0;
  for await (const page of env.lakefs.listObjects(b.repo, commitId, { amount: 1000 })) {
    for (const o of page.results) {
      if (o.path.startsWith("_lakefs_actions/")) continue;
      const e = await exported.next();
      if (e.done) throw new BenchFailure(`${where} misses ${o.path} (and everything after)`);
      if (e.value.key !== o.path) {
        throw new BenchFailure(`${where}: found ${e.value.key} where ${o.path} was expected`);
      }
      if (e.value.etag !== o.checksum) {
        throw new BenchFailure(
          `${where}: ${o.path} has ETag ${e.value.etag}, commit says ${o.checksum}`,
        );
      }
      n++;
    }
  }
  const extra = await exported.next();
  if (!extra.done) throw new BenchFailure(`${where} holds an extra key ${extra.value.key}`);
  if (n !== b.objects) throw new BenchFailure(`${where}: ${n} objects, expected ${b.objects}`);
}

export async function ensureBucket(s3: S3Client, bucket: string) {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

export type { PhaseRecorder, PhaseUsage };
