// The dependency rule of the product code (ARCHITECTURE.md), checked over the imports the
// TypeScript compiler finds in each file (static, dynamic, re-exports):
// - lambdas/shared/ is the ground: it imports nothing else of lambdas/;
// - a capability (lambdas/export, lambdas/gc) imports shared/ and itself only;
// - lambdas/api/ composes the capabilities but never imports their handlers/;
// - inside a capability, layers point inward: domain/ imports no app/, adapters/ or handlers/;
//   app/ and ports.ts import no adapters/ or handlers/;
// - domain/ is pure: nothing it reaches through relative imports loads the AWS SDK,
//   Powertools (metrics and traces go through ports) or I/O;
// - product code (lambdas/, infra/, cli/) imports nothing of local/, test/, bench/, scripts/.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { sourceFiles } from "./code-size";

export const PRODUCT_DIRS = ["lambdas", "infra", "cli"] as const;
const NOT_PRODUCT = ["local", "test", "bench", "scripts"];
/** Modules a domain file may not reach: the AWS SDK, Smithy, Powertools, and Node's I/O. */
const IO_MODULE =
  /^(@aws-sdk\/|@smithy\/|@aws-lambda-powertools\/|(node:)?(fs|fs\/promises|http|https|http2|net|tls|dgram|dns|child_process|worker_threads|cluster)$)/;
/** Top-level folders of lambdas/ that are not capabilities. */
const NOT_CAPABILITIES = new Set(["shared", "api"]);

export interface DependencyViolation {
  /** Relative to the root, with `/`. */
  file: string;
  /** The import as written. */
  specifier: string;
  rule: string;
}

interface Imports {
  /** Relative imports resolved to files below the root. */
  local: { specifier: string; target: string }[];
  /** Package and Node built-in imports. */
  bare: string[];
}

/** Every module specifier of a file: imports, re-exports, import() and require(). */
export function moduleSpecifiers(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

function resolveRelative(root: string, fromFile: string, specifier: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  const candidates = [base, `${base}.ts`, `${base}.mjs`, `${base}.js`, `${base}/index.ts`];
  return candidates.find((c) => /\.(ts|mjs|js)$/.test(c) && existsSync(path.join(root, c)));
}

function importsOf(root: string, file: string, cache: Map<string, Imports>): Imports {
  const known = cache.get(file);
  if (known) return known;
  const out: Imports = { local: [], bare: [] };
  for (const specifier of moduleSpecifiers(readFileSync(path.join(root, file), "utf8"))) {
    if (specifier.startsWith(".")) {
      const target = resolveRelative(root, file, specifier);
      // Outside the root or not found: still named, so the folder rules can see it.
      out.local.push({
        specifier,
        target:
          target ?? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)),
      });
    } else out.bare.push(specifier);
  }
  cache.set(file, out);
  return out;
}

/** `lambdas/export/app/x.ts` -> {area: "lambdas", capability: "export", layer: "app"}. */
function placeOf(file: string) {
  const [area = "", second = "", third = ""] = file.split("/");
  const capability = area === "lambdas" ? second : undefined;
  const layer = capability && !NOT_CAPABILITIES.has(capability) ? third : undefined;
  return { area, capability, layer: layer?.endsWith(".ts") ? layer.slice(0, -3) : layer };
}

function folderRule(file: string, target: string): string | undefined {
  const from = placeOf(file);
  const to = placeOf(target);
  if (NOT_PRODUCT.includes(to.area)) return `product code imports ${to.area}/`;
  if (from.area !== "lambdas" || to.area !== "lambdas") return undefined;
  if (from.capability === "shared" && to.capability !== "shared") {
    return `lambdas/shared imports lambdas/${to.capability}`;
  }
  const fromCapability = from.capability && !NOT_CAPABILITIES.has(from.capability);
  if (fromCapability && to.capability !== "shared" && to.capability !== from.capability) {
    return `capability ${from.capability} imports lambdas/${to.capability}`;
  }
  if (from.capability === "api" && to.layer === "handlers") {
    return `lambdas/api imports the handlers of ${to.capability}`;
  }
  if (fromCapability && to.capability === from.capability) {
    const inner = ["app", "adapters", "handlers"];
    if (from.layer === "domain" && inner.includes(to.layer ?? "")) {
      return `${from.capability}/domain imports ${to.layer}/`;
    }
    if (
      (from.layer === "app" || from.layer === "ports") &&
      inner.slice(1).includes(to.layer ?? "")
    ) {
      return `${from.capability}/${from.layer} imports ${to.layer}/`;
    }
  }
  return undefined;
}

/** The I/O module a domain file reaches, and through which file; undefined when pure. */
function reachedIo(
  root: string,
  file: string,
  cache: Map<string, Imports>,
): { module: string; via: string } | undefined {
  const seen = new Set<string>();
  const queue = [file];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (seen.has(current) || !existsSync(path.join(root, current))) continue;
    seen.add(current);
    const imports = importsOf(root, current, cache);
    const io = imports.bare.find((b) => IO_MODULE.test(b));
    if (io) return { module: io, via: current };
    for (const { target } of imports.local) queue.push(target);
  }
  return undefined;
}

/** Every violation of the rule in the product code below `root`. */
export function checkDependencies(root: string): DependencyViolation[] {
  const cache = new Map<string, Imports>();
  const out: DependencyViolation[] = [];
  for (const file of sourceFiles(
    root,
    PRODUCT_DIRS.filter((d) => existsSync(path.join(root, d))),
  )) {
    const imports = importsOf(root, file, cache);
    for (const { specifier, target } of imports.local) {
      const rule = folderRule(file, target);
      if (rule) out.push({ file, specifier, rule });
    }
    if (placeOf(file).layer === "domain") {
      const io = reachedIo(root, file, cache);
      if (io) {
        const through = io.via === file ? "" : ` (through ${io.via})`;
        out.push({ file, specifier: io.module, rule: `domain reaches ${io.module}${through}` });
      }
    }
  }
  return out;
}

export function describeDependencyViolation(v: DependencyViolation): string {
  return `${v.file}: "${v.specifier}": ${v.rule}`;
}
