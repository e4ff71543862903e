// The independent check of GC's promise for the model-based GC test
// (test/integration/gc-model-sequences-app.test.ts): what the repository protects now,
// computed from lakeFS's API and the brute-force retention model of test/unit/gc-model.ts,
// never with Lakeport's GC code (every branch as it reads, uncommitted entries included, and
// every kept commit among those reachable from a branch or tag through any parent); no object
// a GC run deleted may be among them, and each must be one a mark of the repository listed.
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type ModelRepo, type ModelStart, modelRetention } from "../unit/gc-model";
import type { LakeportEnvironment, TestRepository } from "./lakeport-env";

type Env = Pick<LakeportEnvironment, "s3" | "lakefs">;

/** What the sequence knows of its repository: the bytes written at each physical address. */
export interface GcModelWorld {
  repo: TestRepository;
  /** Physical address (full URI) -> the bytes uploaded there. */
  bytes: Map<string, string>;
  /** Addresses found deleted by earlier checks. */
  gone: Set<string>;
}

/** Commits never change: their parents, dates and objects are read once per process. */
const commitsSeen = new Map<string, { parents: string[]; date: number }>();
const objectsOfCommit = new Map<string, Map<string, string>>();

async function objectsAt(env: Env, repo: string, ref: string) {
  const out = new Map<string, string>(); // path -> physical address
  for await (const page of env.lakefs.listObjects(repo, ref)) {
    for (const o of page.results) out.set(o.path, o.physical_address);
  }
  return out;
}

export async function commitObjects(env: Env, repo: string, commit: string) {
  const key = `${repo}@${commit}`;
  if (!objectsOfCommit.has(key)) objectsOfCommit.set(key, await objectsAt(env, repo, commit));
  return objectsOfCommit.get(key)!;
}

/** Retention rules as the API takes them. */
export interface GcRules {
  default_retention_days: number;
  branches: { branch_id: string; retention_days: number }[];
}

/**
 * Address -> one place referencing it (`ref:path`), for every reference GC must keep: every
 * branch as it reads now (uncommitted entries included), and every commit active under
 * `rules` by README's definition (test/unit/gc-model.ts's brute-force model: starts at every
 * branch head with its retention, every tag and every reachable commit that is no commit's
 * first parent and no head with the default one, over the commits reachable by any parent).
 */
export async function protectedAddresses(env: Env, repo: string, rules: GcRules, now: number) {
  const starts: ModelStart[] = [];
  const heads = new Set<string>();
  const branches: string[] = [];
  const retentionOf = (b: string) =>
    rules.branches.find((r) => r.branch_id === b)?.retention_days ?? rules.default_retention_days;
  for await (const page of env.lakefs.listBranches(repo, { showHidden: true })) {
    for (const b of page.results) {
      starts.push({ commitId: b.commit_id, retentionDays: retentionOf(b.id) });
      heads.add(b.commit_id);
      branches.push(b.id);
    }
  }
  for await (const page of env.lakefs.listTags(repo)) {
    for (const t of page.results) {
      starts.push({ commitId: t.commit_id, retentionDays: rules.default_retention_days });
    }
  }
  const model: ModelRepo = { commits: new Map(), storageNamespace: "", staged: new Map() };
  const todo = starts.map((s) => s.commitId);
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (model.commits.has(c)) continue;
    const key = `${repo}@${c}`;
    if (!commitsSeen.has(key)) {
      const info = await env.lakefs.getCommit(repo, c);
      commitsSeen.set(key, { parents: info.parents, date: info.creation_date });
    }
    const { parents, date } = commitsSeen.get(key)!;
    model.commits.set(c, {
      id: c,
      parents,
      creationDate: date,
      tree: await commitObjects(env, repo, c),
    });
    todo.push(...parents);
  }
  const firstParents = new Set([...model.commits.values()].map((c) => c.parents[0]));
  for (const c of model.commits.keys()) {
    if (!firstParents.has(c) && !heads.has(c)) {
      starts.push({ commitId: c, retentionDays: rules.default_retention_days });
    }
  }
  const { active } = modelRetention(model, starts, now);
  const where = new Map<string, string>();
  const add = (objects: Map<string, string>, at: string) => {
    for (const [p, a] of objects) if (!where.has(a)) where.set(a, `${at}:${p}`);
  };
  for (const b of branches) add(await objectsAt(env, repo, b), `branch ${b}`);
  for (const c of active) add(model.commits.get(c)!.tree, `kept commit ${c.slice(0, 10)}`);
  return { where, commits: model.commits.size, active: active.size };
}

async function readKey(env: Env, bucket: string, key: string): Promise<string | undefined> {
  try {
    const r = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await r.Body!.transformToString();
  } catch (err) {
    if ((err as Error).name === "NoSuchKey") return undefined;
    throw err;
  }
}

async function listKeys(env: Env, bucket: string, prefix: string) {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await env.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const c of r.Contents ?? []) keys.push(c.Key!);
    token = r.NextContinuationToken;
  } while (token);
  return keys;
}

/** Keys (relative to the namespace) listed by any mark of the repository, retired ones too. */
async function markedKeys(env: Env, repo: TestRepository) {
  const nsKey = repo.storageNamespace.slice(`s3://${repo.bucket}/`.length);
  const marked = new Set<string>();
  const prefix = `${nsKey}/_lakefs/retention/gc/addresses.text/`;
  for (const key of await listKeys(env, repo.bucket, prefix)) {
    const text = (await readKey(env, repo.bucket, key)) ?? "";
    for (const line of text.split("\n")) if (line) marked.add(line);
  }
  return marked;
}

/**
 * Violations of GC's promise by the run that just ended (nothing else changed the repository
 * meanwhile): an address it deleted that a branch or a kept commit references, or that no
 * mark of the repository listed; and a referenced address holding other bytes. An address
 * deleted by an earlier run and referenced again since (a branch on an expired commit made
 * after its sweep) is lakeFS's `410 Gone`, not a violation.
 */
export async function checkGcPromise(env: Env, world: GcModelWorld, rules: GcRules) {
  const { repo } = world;
  const bad: string[] = [];
  const inBucket = `s3://${repo.bucket}/`;
  const nsKey = repo.storageNamespace.slice(inBucket.length);
  const now = Math.floor(Date.now() / 1000);
  const { where, commits, active } = await protectedAddresses(env, repo.id, rules, now);
  const marked = await markedKeys(env, repo);
  let deleted = 0;
  for (const [address, bytes] of world.bytes) {
    if (world.gone.has(address)) continue;
    const got = await readKey(env, repo.bucket, address.slice(inBucket.length));
    const at = where.get(address);
    if (got === undefined) {
      deleted++;
      world.gone.add(address);
      if (at) bad.push(`${at} references ${address}, deleted`);
      const rel = address.slice(inBucket.length + nsKey.length + 1);
      if (!marked.has(rel) && !marked.has(address)) bad.push(`${address} deleted, in no mark`);
    } else if (got !== bytes) {
      bad.push(`${address} (${at ?? "unreferenced"}) holds "${got}", not "${bytes}"`);
    }
  }
  return { bad, deleted, referenced: where.size, commits, active };
}
