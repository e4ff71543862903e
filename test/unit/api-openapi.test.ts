import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { openApiDocument } from "../../lambdas/api/openapi";
import { ROUTES } from "../../lambdas/api/routes";

test("the committed openapi.json is up to date (regenerate: npm run openapi)", () => {
  const committed = JSON.parse(
    readFileSync(new URL("../../openapi.json", import.meta.url), "utf8"),
  );
  expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
});

test("every route is described, with the body schemas the handlers validate with", () => {
  const doc = openApiDocument();
  for (const r of ROUTES) {
    const op = (doc.paths[r.resource.slice("/api/v1".length)] as Record<string, unknown>)[
      r.method.toLowerCase()
    ];
    expect(op, `${r.method} ${r.resource}`).toBeDefined();
  }
  const cfg = doc.components.schemas.ContinuousExportConfiguration as {
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, unknown>;
  };
  expect(cfg.required).toEqual(["exportPath"]);
  expect(cfg.additionalProperties).toBe(false);
  expect(Object.keys(cfg.properties).sort()).toEqual([
    "exportPath",
    "exportStatusPath",
    "isContinuous",
    "lastKeysInPrefixRegexp",
  ]);
  const rules = doc.components.schemas.GarbageCollectionRules as {
    properties: { default_retention_days: { maximum: number } };
  };
  expect(rules.properties.default_retention_days.maximum).toBe(36500);
});
