import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isDiffPage, isObjectStatsPage } from "../../lambdas/shared/lakefs/page-checks";
import { DiffListSchema, ObjectStatsListSchema } from "../../lambdas/shared/lakefs/schemas";

const pagination = { has_more: true, next_offset: "b", results: 2, max_per_page: 1000 };

const objectsPage = () => ({
  pagination: { ...pagination },
  results: [
    {
      path: "a/1.parquet",
      path_type: "object",
      physical_address: "s3://bucket/ns/data/1",
      physical_address_expiry: 0,
      checksum: "e1",
      size_bytes: 10,
      mtime: 1_700_000_000,
      metadata: { owner: "etl" },
      content_type: "application/octet-stream",
      extra_field_lakefs_adds_later: [1, 2],
    },
    {
      path: "b",
      path_type: "object",
      physical_address: "s3://bucket/ns/data/2",
      checksum: "e2",
      mtime: 0,
    },
  ],
});

const diffPage = () => ({
  pagination: { ...pagination },
  results: [
    {
      type: "added",
      path: "a/1.parquet",
      path_type: "object",
      size_bytes: 10,
      right: { checksum: "e", mtime: 1, content_type: "text/plain", metadata: { k: "v" } },
    },
    { type: "removed", path: "b", path_type: "object" },
    { type: "prefix_changed", path: "c/", path_type: "common_prefix" },
  ],
});

/** Every place in a JSON value, as a path of keys. */
function placesOf(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== "object" || v === null) return [at];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [
    at,
    ...keys.flatMap((k) => placesOf((v as Record<string | number, unknown>)[k], [...at, k])),
  ];
}

const replacements: unknown[] = [
  undefined,
  null,
  "",
  "s",
  0,
  -1,
  1.5,
  2 ** 60,
  true,
  [],
  {},
  ["x"],
  { k: 1 },
  "object",
  "added",
  "common_prefix",
];

function mutate(page: unknown, place: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(page) as Record<string | number, unknown>;
  if (place.length === 0) return value;
  let at: Record<string | number, unknown> = copy;
  for (const k of place.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = place[place.length - 1] as string | number;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

describe("quick checks of lakeFS pages", () => {
  const cases = [
    ["listObjects", objectsPage, isObjectStatsPage, ObjectStatsListSchema],
    ["diffRefs", diffPage, isDiffPage, DiffListSchema],
  ] as const;

  it.each(cases)(
    "%s: accepts the pages lakeFS sends (so the quick path is taken)",
    (_, page, accepts, schema) => {
      expect(accepts(page())).toBe(true);
      expect(schema.safeParse(page()).success).toBe(true);
      expect(accepts({ ...page(), results: [] })).toBe(true);
    },
  );

  it.each(cases)(
    "%s: never accepts a page its schema rejects (any field, any wrong value)",
    (_, page, accepts, schema) => {
      const places = placesOf(page());
      let rejectedBySchema = 0;
      fc.assert(
        fc.property(
          fc.constantFrom(...places),
          fc.constantFrom(...replacements),
          fc.constantFrom(...places),
          fc.constantFrom(...replacements),
          (p1, v1, p2, v2) => {
            let body: unknown;
            try {
              body = mutate(mutate(page(), p1, v1), p2, v2);
            } catch {
              return; // the second place no longer exists
            }
            const schemaAccepts = schema.safeParse(body).success;
            if (!schemaAccepts) rejectedBySchema++;
            if (accepts(body)) expect(schemaAccepts).toBe(true);
          },
        ),
        { numRuns: 3000 },
      );
      expect(rejectedBySchema).toBeGreaterThan(1000);
      // Every single-field mutation, exhaustively.
      for (const p of places) {
        for (const v of replacements) {
          const body = mutate(page(), p, v);
          if (accepts(body))
            expect(schema.safeParse(body).success, JSON.stringify([p, v])).toBe(true);
        }
      }
    },
  );
});
