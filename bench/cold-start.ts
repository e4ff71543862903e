// Cold start of each Lambda: the size of its bundled asset (as the zip Lambda receives:
// deflate-compressed files plus zip headers, computed without writing a zip) and the time a
// fresh Node.js process takes to import the bundle (module initialisation), median of runs.
import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { deflateRawSync } from "node:zlib";

export interface ColdStartResult {
  logicalId: string;
  memorySizeMb: number;
  bundleBytes: number;
  zipBytes: number;
  initMs: number;
}

interface TemplateFunction {
  logicalId: string;
  assetDir: string;
  handlerFile: string;
  memorySizeMb: number;
  environment: Record<string, string>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Zip size: per file a local header (30 + name) and central entry (46 + name), plus the end. */
async function zipSize(dir: string): Promise<{ raw: number; zipped: number }> {
  let raw = 0;
  let zipped = 22;
  for (const f of await filesUnder(dir)) {
    const data = await readFile(f);
    const name = Buffer.byteLength(path.relative(dir, f));
    raw += data.length;
    zipped += 30 + 46 + 2 * name + Math.min(data.length, deflateRawSync(data, { level: 9 }).length);
  }
  return { raw, zipped };
}

interface TemplateResource {
  Type: string;
  Properties?: {
    Handler?: string;
    MemorySize?: number;
    Environment?: { Variables?: Record<string, unknown> };
  };
  Metadata?: Record<string, unknown>;
}

/** Lambda functions of a synthesized stack with their bundled asset directories. */
export async function templateFunctions(
  assemblyDir: string,
  stackName: string,
): Promise<TemplateFunction[]> {
  const template = JSON.parse(
    await readFile(path.join(assemblyDir, `${stackName}.template.json`), "utf8"),
  ) as { Resources: Record<string, TemplateResource> };
  const out: TemplateFunction[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const assetPath = r.Metadata?.["aws:asset:path"];
    if (typeof assetPath !== "string") continue;
    const assetDir = path.resolve(assemblyDir, assetPath);
    const base = String(r.Properties?.Handler ?? "index.handler").split(".")[0]!;
    let handlerFile = "";
    for (const ext of [".mjs", ".js", ".cjs"]) {
      const f = path.join(assetDir, base + ext);
      if (await stat(f).catch(() => undefined)) {
        handlerFile = f;
        break;
      }
    }
    if (!handlerFile) continue;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.Properties?.Environment?.Variables ?? {})) {
      env[k] = typeof v === "string" ? v : `placeholder-${k.toLowerCase()}`;
    }
    out.push({
      logicalId,
      assetDir,
      handlerFile,
      memorySizeMb: Number(r.Properties?.MemorySize ?? 128),
      environment: env,
    });
  }
  return out;
}

const IMPORT_SCRIPT =
  "const t=performance.now();await import(process.argv[1]);" +
  "process.stdout.write(String(performance.now()-t));";

function timeImport(file: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", IMPORT_SCRIPT, pathToFileURL(file).href],
      {
        cwd: path.dirname(file),
        env: {
          PATH: process.env.PATH ?? "",
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: "bench",
          AWS_SECRET_ACCESS_KEY: "bench",
          NODE_NO_WARNINGS: "1",
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`import of ${file} failed: ${stderr || err.message}`));
        else resolve(Number(stdout));
      },
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function measureColdStarts(
  assemblyDir: string,
  stackName: string,
  runs = 3,
): Promise<ColdStartResult[]> {
  const results: ColdStartResult[] = [];
  for (const fn of await templateFunctions(assemblyDir, stackName)) {
    const { raw, zipped } = await zipSize(fn.assetDir);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await timeImport(fn.handlerFile, fn.environment));
    results.push({
      logicalId: fn.logicalId,
      memorySizeMb: fn.memorySizeMb,
      bundleBytes: raw,
      zipBytes: zipped,
      initMs: median(times),
    });
  }
  return results;
}
