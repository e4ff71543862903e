// The code's shape, checked: the dependency rule of ARCHITECTURE.md, the size limits of files
// and functions, and one definition per concept. Each checker is shown to catch a violation.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkSizes,
  describeSizeViolation,
  MAX_FUNCTION_LINES,
  sizeViolations,
  sourceFiles,
} from "../support/code-size";
import {
  checkDependencies,
  describeDependencyViolation,
  PRODUCT_DIRS,
} from "../support/dependency-rules";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("the dependency rule", () => {
  it("holds in lambdas/, infra/ and cli/", () => {
    expect(checkDependencies(ROOT).map(describeDependencyViolation)).toEqual([]);
  });

  const fixture = mkdtempSync(path.join(os.tmpdir(), "lakeport-deps-"));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(fixture, file)), { recursive: true });
    writeFileSync(path.join(fixture, file), text);
  };

  it("catches each kind of violation", () => {
    write("lambdas/shared/ground.ts", 'export { step } from "../export/app/step";\n');
    write("lambdas/shared/pure.ts", "export const x = 1;\n");
    write(
      "lambdas/export/app/step.ts",
      'import { y } from "../../gc/domain/y";\nexport const step = y;\n',
    );
    write(
      "lambdas/export/domain/plan.ts",
      'import { step } from "../app/step";\nexport const p = step;\n',
    );
    write(
      "lambdas/export/handlers/plan.ts",
      'import { x } from "../../shared/pure";\nexport const handler = x;\n',
    );
    write("lambdas/gc/domain/y.ts", 'import { read } from "./io";\nexport const y = read;\n');
    write(
      "lambdas/gc/domain/io.ts",
      'import { readFileSync } from "node:fs";\nexport const read = readFileSync;\n',
    );
    write(
      "lambdas/gc/domain/sdk.ts",
      'import { S3Client } from "@aws-sdk/client-s3";\nexport const c = S3Client;\n',
    );
    write(
      "lambdas/gc/domain/ok.ts",
      'import { x } from "../../shared/pure";\nexport const ok = x;\n',
    );
    write(
      "lambdas/api/routes.ts",
      'const h = await import("../export/handlers/plan");\nexport { h };\n',
    );
    write("infra/stack.ts", 'import { server } from "../local/server";\nexport { server };\n');
    write("cli/main.ts", 'import "../test/support/helper";\n');
    write("local/server.ts", "export const server = 1;\n");

    const found = checkDependencies(fixture).map((v) => `${v.file}: ${v.rule}`);
    expect(found.sort()).toEqual(
      [
        "cli/main.ts: product code imports test/",
        "infra/stack.ts: product code imports local/",
        "lambdas/api/routes.ts: lambdas/api imports the handlers of export",
        "lambdas/export/app/step.ts: capability export imports lambdas/gc",
        "lambdas/export/domain/plan.ts: export/domain imports app/",
        "lambdas/export/domain/plan.ts: domain reaches node:fs (through lambdas/gc/domain/io.ts)",
        "lambdas/gc/domain/io.ts: domain reaches node:fs",
        "lambdas/gc/domain/sdk.ts: domain reaches @aws-sdk/client-s3",
        "lambdas/gc/domain/y.ts: domain reaches node:fs (through lambdas/gc/domain/io.ts)",
        "lambdas/shared/ground.ts: lambdas/shared imports lambdas/export",
      ].sort(),
    );
  });
});

describe("size limits", () => {
  it("hold in lambdas/, infra/ and cli/", () => {
    expect(checkSizes(ROOT, PRODUCT_DIRS).map(describeSizeViolation)).toEqual([]);
  });

  it("hold in local/", () => {
    expect(checkSizes(ROOT, ["local"]).map(describeSizeViolation)).toEqual([]);
  });

  it("catch a long function, a long arrow function and a long file", () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const v${i} = ${i};`);
    const text = [
      "export function long() {",
      ...body,
      "}",
      "export const arrow = () => {",
      ...body,
      "};",
      "export function short() {",
      "  return 1;",
      "}",
    ].join("\n");
    const found = sizeViolations("x.ts", `${text}\n`, { file: 200, fn: MAX_FUNCTION_LINES });
    expect(found.map(describeSizeViolation)).toEqual([
      `x.ts: ${MAX_FUNCTION_LINES * 2 + 7} lines (at most 200)`,
      `x.ts:1 long: ${MAX_FUNCTION_LINES + 2} lines (at most ${MAX_FUNCTION_LINES})`,
      `x.ts:${MAX_FUNCTION_LINES + 3} arrow: ${MAX_FUNCTION_LINES + 2} lines (at most ${MAX_FUNCTION_LINES})`,
    ]);
  });
});

describe("one definition per concept", () => {
  const product = sourceFiles(ROOT, PRODUCT_DIRS).map((file) => ({
    file,
    // Comments say what a rule is; code defines it.
    code: readFileSync(path.join(ROOT, file), "utf8")
      .split("\n")
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
      .join("\n"),
  }));
  const places = (pattern: RegExp) =>
    product.flatMap(({ file, code }) =>
      (code.match(new RegExp(pattern, "g")) ?? []).map(() => file),
    );

  it.each([
    ["the GC id pattern", /\[A-Za-z0-9_-\]\{1,64\}/, "lambdas/gc/domain/ids.ts"],
    [
      "the execution name (export id) pattern",
      /\[A-Za-z0-9_-\]\{1,80\}/,
      "lambdas/shared/workflow-starter.ts",
    ],
    ["the lakeFS event source", /"lakeport\.lakefs"/, "lambdas/export/domain/lakefs-event.ts"],
    [
      "the lakeFS event types",
      /"post-commit",\s*"post-merge",\s*"post-revert",\s*"post-cherry-pick"/,
      "lambdas/export/domain/lakefs-event.ts",
    ],
    ["the GC rules schema", /gcRulesSchema\(wording/, "lambdas/gc/domain/rules.ts"],
    ["the longest retention", /36_?500\b/, "lambdas/gc/domain/rules.ts"],
    [
      "the GC modes",
      /"mark-and-sweep", "mark-only", "sweep-only"/,
      "lambdas/gc/domain/workflow-input.ts",
    ],
    [
      "the export modes",
      /"incremental", "full-copy", "full-compare"/,
      "lambdas/export/domain/export-state.ts",
    ],
    [
      "the export state names",
      /"exported-successfully",\s*"export-failed"/,
      "lambdas/export/domain/export-state.ts",
    ],
    ["GC's report folder", /"_lakefs\/retention\/gc"/, "lambdas/gc/domain/paths.ts"],
    ["GC's log folder", /"_lakefs\/logs\/gc"/, "lambdas/gc/domain/paths.ts"],
    ["the required setting", /function required\(/, "lambdas/shared/env.ts"],
    ["the retry options", /interface RetryOptions/, "lambdas/shared/retry.ts"],
    ["the retry loop", /function withRetry/, "lambdas/shared/retry.ts"],
    ["the full jitter backoff", /2 \*\* \(attempt - 1\)/, "lambdas/shared/retry.ts"],
    ["the finish of an export", /function finishExport/, "lambdas/export/app/finish-export.ts"],
  ])("%s", (_what, pattern, file) => {
    expect(places(pattern)).toEqual([file]);
  });
});
