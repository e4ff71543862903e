import { describe, expect, it } from "vitest";
import { parseGcRules, retentionDaysOf, retentionLookup } from "../../lambdas/gc/domain/rules";
import { ValidationError } from "../../lambdas/shared/errors";

const seedRules = {
  default_retention_days: 14,
  branches: [
    { branch_id: "main", retention_days: 21 },
    { branch_id: "dev", retention_days: 7 },
  ],
};

function errorOf(input: unknown): ValidationError {
  try {
    parseGcRules(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error("expected the rules to be refused");
}

describe("GC rules", () => {
  it("accepts the seed's JSON as is", () => {
    expect(parseGcRules(seedRules)).toEqual(seedRules);
    expect(parseGcRules({ default_retention_days: 0, branches: [] })).toEqual({
      default_retention_days: 0,
      branches: [],
    });
  });

  it("gives a branch its own retention, else the default", () => {
    const rules = parseGcRules(seedRules);
    expect(retentionDaysOf(rules, "main")).toBe(21);
    expect(retentionDaysOf(rules, "dev")).toBe(7);
    expect(retentionDaysOf(rules, "feature")).toBe(14);
    const lookup = retentionLookup(rules);
    expect(["main", "dev", "x"].map(lookup)).toEqual([21, 7, 14]);
  });

  it("accepts 0 and 36500 days, refuses fractions, negatives and more than 36500", () => {
    expect(
      parseGcRules({ default_retention_days: 36500, branches: [] }).default_retention_days,
    ).toBe(36500);
    expect(errorOf({ default_retention_days: 1.5, branches: [] }).message).toMatch(
      /default_retention_days: must be a whole number/,
    );
    expect(errorOf({ default_retention_days: -1, branches: [] }).message).toMatch(
      /default_retention_days: must be 0 or more/,
    );
    expect(
      errorOf({ default_retention_days: 1, branches: [{ branch_id: "a", retention_days: 36501 }] })
        .message,
    ).toMatch(/branches\[0\]\.retention_days: must be at most 36500/);
    expect(errorOf({ default_retention_days: "7", branches: [] }).message).toMatch(
      /default_retention_days: must be a number of days/,
    );
  });

  it("names missing fields", () => {
    expect(errorOf({ branches: [] }).message).toMatch(/default_retention_days: required/);
    expect(errorOf({ default_retention_days: 1 }).message).toMatch(/branches: required/);
    expect(
      errorOf({ default_retention_days: 1, branches: [{ retention_days: 2 }] }).message,
    ).toMatch(/branches\[0\]\.branch_id: required/);
  });

  it("refuses unknown fields, naming them", () => {
    expect(errorOf({ ...seedRules, default_retention: 3 }).message).toMatch(
      /default_retention: unknown field/,
    );
    expect(
      errorOf({
        default_retention_days: 1,
        branches: [{ branch_id: "a", retention_days: 1, x: 1 }],
      }).message,
    ).toMatch(/branches\[0\]\.x: unknown field/);
  });

  it("refuses a branch listed twice", () => {
    const message = errorOf({
      default_retention_days: 1,
      branches: [
        { branch_id: "main", retention_days: 1 },
        { branch_id: "dev", retention_days: 1 },
        { branch_id: "main", retention_days: 5 },
      ],
    }).message;
    expect(message).toMatch(/branches\[2\]\.branch_id: duplicate branch "main"/);
  });

  it("refuses what is not an object", () => {
    expect(errorOf(null).message).toMatch(/rules: must be a JSON object/);
    expect(errorOf({ default_retention_days: 1, branches: [7] }).message).toMatch(
      /branches\[0\]: must be an object with branch_id/,
    );
    expect(errorOf([1]).message).toMatch(/invalid GC rules/);
  });
});
