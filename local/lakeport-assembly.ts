// The real Lakeport app (infra/app.ts buildApp) synthesized with settings for the embedded
// environment, into a cloud assembly that local/cloud deploys. Synthesis (esbuild bundles of
// every Lambda) takes 15-30 s, so it is skipped when nothing it depends on changed: a hash of
// infra/**, lambdas/**, package-lock.json, cdk.json, this file and the settings is kept in
// the output directory.
//
// Run directly: `npx tsx local/lakeport-assembly.ts <outdir>` (prints the assembly dir).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { useBundleCache } from "./bundle-cache";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Where local syntheses keep the Lambda bundles they built (local/bundle-cache.ts). */
export const BUNDLE_CACHE_DIR = path.join(PROJECT_ROOT, "node_modules/.cache/lakeport/bundles");

/** Stack name of the local deployment. */
export const LOCAL_STACK_NAME = "Lakeport";

/**
 * The lakeFS endpoint baked into the template. Only known at runtime (free ports in tests),
 * so the deployment overrides LAKEFS_ENDPOINT through its lambdaEnv.
 */
export const PLACEHOLDER_LAKEFS_ENDPOINT = "http://lakefs.invalid:8000";
export const PLACEHOLDER_LAKEFS_SECRET_ARN =
  "arn:aws:secretsmanager:us-east-1:000000000000:secret:lakeport-local-lakefs-AbCdEf";

/**
 * What every deployed function gets on top of the template's environment locally (it wins
 * over the template, see local/cloud deployLocally lambdaEnv): the real lakeFS endpoint in
 * place of the placeholder, lakeFS keys instead of the secret ARN, the webhook token instead
 * of its secret, and the buckets export may write to: any (`*`) unless LAKEPORT_EXPORT_BUCKETS
 * names them, as for `cdk deploy` (the template's list holds placeholder buckets locally).
 */
export function localLambdaEnv(opts: {
  lakeFsEndpoint: string;
  lakeFsAccessKeyId: string;
  lakeFsSecretAccessKey: string;
  webhookToken: string;
  /** Default: LAKEPORT_EXPORT_BUCKETS of this process, else any bucket. */
  exportBuckets?: string;
}): Record<string, string> {
  return {
    LAKEFS_ENDPOINT: opts.lakeFsEndpoint,
    LAKEFS_ACCESS_KEY_ID: opts.lakeFsAccessKeyId,
    LAKEFS_SECRET_ACCESS_KEY: opts.lakeFsSecretAccessKey,
    WEBHOOK_TOKEN: opts.webhookToken,
    EXPORT_BUCKETS: opts.exportBuckets ?? (process.env.LAKEPORT_EXPORT_BUCKETS?.trim() || "*"),
    // Local Lambdas run on this machine's Node 20 (Node 22 in AWS): the SDK's notice is known.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

export interface LakeportAssemblySettings {
  stackName?: string;
  lakeFsEndpoint?: string;
  lakeFsSecretArn?: string;
  /** IAM only (ignored locally); bucket names must be valid. */
  storageBuckets?: string[];
  exportBuckets?: string[];
  maxConcurrency?: number;
  /**
   * false: the template alone, without the functions' esbuild bundles (seconds instead of
   * tens of seconds; for what reads only the template, e.g. the API Gateway's routes).
   */
  bundle?: boolean;
  /**
   * `cdk deploy`'s settings by environment variable name (LAKEPORT_GC_SCHEDULES, ...), read
   * by infra/app.ts as for a deployment; they win over the fields above.
   */
  cdkSettings?: Record<string, string>;
}

/**
 * Settings that stay local whatever the environment says: the stack name the local tools
 * know, and the lakeFS endpoint and secret (replaced at run time, see localLambdaEnv).
 */
const LOCAL_ONLY_SETTINGS = new Set([
  "LAKEPORT_STACK_NAME",
  "LAKEPORT_LAKEFS_ENDPOINT",
  "LAKEPORT_LAKEFS_SECRET_ARN",
]);

/**
 * The settings of `cdk deploy` (the LAKEPORT_* variables infra/app.ts reads) found in `env`,
 * for `npm run local` to deploy what they produce.
 */
export async function cdkSettingsFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const { lakeportPropsFromSettings } = await import("../infra/app");
  const names: string[] = [];
  const placeholders: Record<string, string> = {
    lakeFsEndpoint: PLACEHOLDER_LAKEFS_ENDPOINT,
    lakeFsSecretArn: PLACEHOLDER_LAKEFS_SECRET_ARN,
    storageBuckets: "b",
    exportBuckets: "b",
  };
  // The names infra/app.ts reads, learnt by asking it (one list of settings, there).
  lakeportPropsFromSettings((key, envName) => {
    names.push(envName);
    return placeholders[key];
  });
  return Object.fromEntries(
    names
      .filter((n) => !LOCAL_ONLY_SETTINGS.has(n) && env[n] !== undefined && env[n] !== "")
      .map((n) => [n, env[n]!]),
  );
}

export interface SynthesisResult {
  assemblyDir: string;
  stackName: string;
  /** false when the cached assembly was reused. */
  synthesized: boolean;
  hash: string;
}

const HASH_FILE = ".lakeport-source-hash";
const HASHED_DIRS = ["infra", "lambdas"];
const HASHED_FILES = [
  "package-lock.json",
  "cdk.json",
  "local/lakeport-assembly.ts",
  "local/bundle-cache.ts",
];

function resolvedSettings(s: LakeportAssemblySettings = {}): Required<LakeportAssemblySettings> {
  return {
    stackName: s.stackName ?? LOCAL_STACK_NAME,
    lakeFsEndpoint: s.lakeFsEndpoint ?? PLACEHOLDER_LAKEFS_ENDPOINT,
    lakeFsSecretArn: s.lakeFsSecretArn ?? PLACEHOLDER_LAKEFS_SECRET_ARN,
    storageBuckets: s.storageBuckets ?? ["lakeport-local-storage"],
    exportBuckets: s.exportBuckets ?? ["lakeport-local-exports"],
    maxConcurrency: s.maxConcurrency ?? 8,
    bundle: s.bundle ?? true,
    cdkSettings: s.cdkSettings ?? {},
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue;
      out.push(...(await listFiles(p)));
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Hash of everything the synthesized assembly depends on. */
export async function sourceHash(settings: LakeportAssemblySettings = {}): Promise<string> {
  const h = createHash("sha256");
  h.update(JSON.stringify(resolvedSettings(settings)));
  const files = [
    ...(await Promise.all(HASHED_DIRS.map((d) => listFiles(path.join(PROJECT_ROOT, d))))).flat(),
    ...HASHED_FILES.map((f) => path.join(PROJECT_ROOT, f)),
  ].sort();
  for (const f of files) {
    h.update(path.relative(PROJECT_ROOT, f));
    h.update("\0");
    h.update(await readFile(f).catch(() => Buffer.from("<missing>")));
    h.update("\0");
  }
  return h.digest("hex");
}

/**
 * Synthesizes the real Lakeport app into `outdir` (a cdk.out with asset metadata), unless the
 * assembly there was built from the same sources and settings. Runs the synthesis in a child
 * process (tsx), so it always sees the sources on disk and its errors are reported whole.
 */
export async function synthesizeLakeport(
  outdir: string,
  settings: LakeportAssemblySettings = {},
  opts: { log?: (message: string) => void; force?: boolean } = {},
): Promise<SynthesisResult> {
  const s = resolvedSettings(settings);
  const assemblyDir = path.resolve(outdir);
  // One synthesis at a time per directory, across processes (test files, npm run local).
  const release = await lock(`${assemblyDir}.lock`, opts.log);
  try {
    const hash = await sourceHash(s);
    if (!opts.force && (await assemblyHash(assemblyDir)) === hash) {
      // Touched: "checked at" is what tests compare with their run's start (assemblyCheckedAt).
      const now = new Date();
      await utimes(path.join(assemblyDir, HASH_FILE), now, now).catch(() => undefined);
      return { assemblyDir, stackName: s.stackName, synthesized: false, hash };
    }
    opts.log?.(`synthesizing the Lakeport app into ${assemblyDir} (esbuild bundles, 15-60 s)...`);
    const t0 = Date.now();
    // Synthesize next to the target, then swap, so a reader never sees half an assembly.
    const tmp = `${assemblyDir}.tmp-${process.pid}-${Date.now()}`;
    try {
      await runChildSynthesis(tmp, s);
      await writeFile(path.join(tmp, HASH_FILE), `${hash}\n`);
      await rm(assemblyDir, { recursive: true, force: true });
      await rename(tmp, assemblyDir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    opts.log?.(`synthesized in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { assemblyDir, stackName: s.stackName, synthesized: true, hash };
  } finally {
    await release();
  }
}

/** The source hash of the complete assembly in `dir`, or undefined when there is none. */
export async function assemblyHash(dir: string): Promise<string | undefined> {
  if (!existsSync(path.join(dir, "manifest.json"))) return undefined;
  const h = await readFile(path.join(dir, HASH_FILE), "utf8").catch(() => "");
  return h.trim() || undefined;
}

/**
 * Waits until no synthesis runs on `dir`, then returns when the assembly there was last
 * synthesized or found up to date (ms since epoch), or undefined when there is none.
 */
export async function assemblyCheckedAt(dir: string): Promise<number | undefined> {
  const release = await lock(`${path.resolve(dir)}.lock`);
  await release();
  if (!(await assemblyHash(dir))) return undefined;
  return (await stat(path.join(dir, HASH_FILE))).mtimeMs;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A directory lock (mkdir is atomic) holding the owner's pid; a dead owner's lock is taken over. */
async function lock(lockDir: string, log?: (m: string) => void): Promise<() => Promise<void>> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, "pid"), String(process.pid));
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(await readFile(path.join(lockDir, "pid"), "utf8").catch(() => "0"));
      if (pid && !pidAlive(pid)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!waited) log?.(`waiting for the synthesis running in process ${pid || "?"}...`);
      waited = true;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export class SynthesisError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = "SynthesisError";
  }
}

function runChildSynthesis(outdir: string, s: Required<LakeportAssemblySettings>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--child", outdir, JSON.stringify(s)],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new SynthesisError(
            `synthesis of the Lakeport app failed (exit ${code}):\n${output.slice(-4000)}`,
            output,
          ),
        );
    });
  });
}

/**
 * In the child: the Lakeport stack of infra/app.ts with these settings, read by infra/app.ts's
 * own reader of `cdk deploy`'s settings. The stack is built directly (not through buildApp) so
 * cdk-nag's checks, a deploy-time gate that changes nothing in the template, neither slow down
 * nor block local runs.
 */
async function childSynthesize(outdir: string, s: Required<LakeportAssemblySettings>) {
  // The same functions bundled for another assembly (other settings, a test's stack) are
  // taken as they are: esbuild would build the same bytes again.
  if (s.bundle) await useBundleCache(BUNDLE_CACHE_DIR, PROJECT_ROOT, (m) => console.error(m));
  const { App } = await import("aws-cdk-lib");
  const { LakeportStack } = await import("../infra/stack");
  const { lakeportPropsFromSettings } = await import("../infra/app");
  // cdk.json's context, as `cdk synth` would pass it.
  const cdkJson = JSON.parse(await readFile(path.join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  const app = new App({
    outdir,
    context: {
      ...(cdkJson.context ?? {}),
      "aws:cdk:enable-asset-metadata": true,
      ...(s.bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
    },
  });
  const defaults: Record<string, unknown> = {
    lakeFsEndpoint: s.lakeFsEndpoint,
    lakeFsSecretArn: s.lakeFsSecretArn,
    storageBuckets: s.storageBuckets,
    exportBuckets: s.exportBuckets,
    maxConcurrency: s.maxConcurrency,
  };
  const { lakeport, alarmTopicArn } = lakeportPropsFromSettings(
    (key, envName) =>
      (LOCAL_ONLY_SETTINGS.has(envName) ? undefined : s.cdkSettings[envName]) ?? defaults[key],
  );
  new LakeportStack(app, s.stackName, {
    lakeport,
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
  });
  app.synth();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === "--child") {
    childSynthesize(args[1]!, JSON.parse(args[2]!)).catch((err: unknown) => {
      console.error((err as Error).stack ?? err);
      process.exit(1);
    });
  } else {
    const outdir = args[0] ?? path.join(PROJECT_ROOT, "cdk.out.local");
    synthesizeLakeport(outdir, {}, { log: (m) => console.error(m) })
      .then((r) => console.log(r.assemblyDir))
      .catch((err: unknown) => {
        console.error((err as Error).message);
        process.exit(1);
      });
  }
}
