// Deployment phase: every Node.js function registered in the local Lambda runtime with its
// bundled asset (or inline code), handler, environment, timeout, memory and reserved
// concurrency.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LambdaRuntime } from "../lambda/runtime";
import { type DeployContext, recordDeployed, resolvedProps } from "./deploy-context";
import { type CfnResource, TemplateError } from "./template";

/**
 * Registers the template's functions; returns the temporary directories written for inline
 * code, which the deployment removes when it closes.
 */
export function deployFunctions(ctx: DeployContext, runtime: LambdaRuntime): string[] {
  const inlineDirs: string[] = [];
  for (const [id, r] of ctx.resources) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const p = resolvedProps(ctx, r);
    const runtimeName = String(p.Runtime ?? "");
    if (!runtimeName.startsWith("nodejs")) {
      ctx.unsupported.push({
        logicalId: id,
        type: `${r.Type} (runtime ${runtimeName || "unknown"})`,
      });
      continue;
    }
    const env = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables ?? {}) as Record<string, unknown>;
    runtime.register({
      name: ctx.physical.get(id)!.ref,
      logicalId: id,
      codeDir: path.resolve(ctx.assemblyDir, codePath(id, r, p, inlineDirs)),
      handler: String(p.Handler ?? "index.handler"),
      // lambdaEnv wins over the template: it carries what is only known locally at runtime
      // (LAKEFS_ENDPOINT of a dev server on a free port, credentials instead of secret ARNs).
      environment: {
        ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
        ...(ctx.lambdaEnv ?? {}),
      },
      timeoutSeconds: Number(p.Timeout ?? 3),
      memorySizeMb: Number(p.MemorySize ?? 128),
      ...(p.ReservedConcurrentExecutions !== undefined
        ? { reservedConcurrency: Number(p.ReservedConcurrentExecutions) }
        : {}),
    });
    recordDeployed(ctx, id, r.Type);
  }
  return inlineDirs;
}

/** The function's code directory: its asset, or inline code written to a temporary one. */
function codePath(
  id: string,
  r: CfnResource,
  p: Record<string, unknown>,
  inlineDirs: string[],
): string {
  let assetPath = r.Metadata?.["aws:asset:path"];
  const inline = (p.Code as { ZipFile?: string } | undefined)?.ZipFile;
  if (typeof inline === "string") {
    // Inline code (Code.ZipFile) is a single CommonJS file named after the handler.
    const dir = mkdtempSync(path.join(os.tmpdir(), `lakeport-inline-${id}-`));
    inlineDirs.push(dir);
    writeFileSync(
      path.join(dir, `${String(p.Handler ?? "index.handler").split(".")[0]}.js`),
      inline,
    );
    assetPath = dir;
  }
  if (typeof assetPath !== "string") {
    throw new TemplateError(
      `Function ${id} has no 'aws:asset:path' metadata; synthesize with context { "aws:cdk:enable-asset-metadata": true }`,
    );
  }
  return assetPath;
}
