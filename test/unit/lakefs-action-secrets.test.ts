// The lakeFS development server's secret substitution in action files, as lakeFS does it
// (pkg/actions/secure_string.go and its table test): `{{ ENV.NAME }}` in header and query
// parameter values, only names with the LAKEFSACTION_ prefix, an unset variable fails the run.
import { describe, expect, it } from "vitest";
import {
  type ActionEnvironment,
  hooksOfRun,
  MissingActionEnvError,
  parseActionFile,
  substituteActionEnv,
} from "../../local/lakefs/actions";
import { lakeportActionYaml, WEBHOOK_TOKEN_ACTION_VARIABLE } from "../../local/lakeport-action";

const env = (values: Record<string, string>, more: Partial<ActionEnvironment> = {}) => ({
  values,
  ...more,
});

describe("{{ ENV.NAME }} substitution", () => {
  it.each([
    ["this is just a string", {}, "this is just a string"],
    ["{{ ENV.LAKEFSACTION_A }}", { LAKEFSACTION_A: "some value" }, "some value"],
    ["{{ENV.LAKEFSACTION_B}}", { LAKEFSACTION_B: "no spaces" }, "no spaces"],
    [
      "this {{ ENV.LAKEFSACTION_C }} value",
      { LAKEFSACTION_C: "is another" },
      "this is another value",
    ],
    [
      "count: {{ ENV.LAKEFSACTION_1 }}, {{ENV.LAKEFSACTION_2}}, {{ ENV.LAKEFSACTION_3 }}",
      { LAKEFSACTION_1: "one", LAKEFSACTION_2: "two", LAKEFSACTION_3: "three" },
      "count: one, two, three",
    ],
    ["{{ NV.LAKEFSACTION_A }}", { LAKEFSACTION_A: "x" }, "{{ NV.LAKEFSACTION_A }}"],
    // Outside the prefix: lakeFS reads "" rather than the variable.
    ["Bearer {{ ENV.HOME }}", { HOME: "/root" }, "Bearer "],
  ])("%j", (value, values, expected) => {
    expect(substituteActionEnv(value, env(values as Record<string, string>))).toBe(expected);
  });

  it("fails on a variable that is not set", () => {
    expect(() => substituteActionEnv("{{ ENV.LAKEFSACTION_MISSING }}", env({}))).toThrow(
      MissingActionEnvError,
    );
    expect(() => substituteActionEnv("{{ ENV.LAKEFSACTION_MISSING }}", env({}))).toThrow(
      /LAKEFSACTION_MISSING not found/,
    );
  });

  it("reads every name with an empty prefix, nothing when disabled", () => {
    expect(substituteActionEnv("{{ ENV.HOME }}", env({ HOME: "/root" }, { prefix: "" }))).toBe(
      "/root",
    );
    expect(substituteActionEnv("{{ ENV.LAKEFSACTION_A }}", env({}, { enabled: false }))).toBe("");
  });
});

describe("an action run", () => {
  const action = parseActionFile(
    lakeportActionYaml("http://127.0.0.1:1/api/v1/webhooks/lakefs"),
    "a",
  );

  it("sends the token from lakeFS's environment; the file holds only the reference", () => {
    expect(action.hooks[0]?.headers["X-Lakeport-Token"]).toBe(
      `{{ ENV.${WEBHOOK_TOKEN_ACTION_VARIABLE} }}`,
    );
    const [run] = hooksOfRun([action], "post-commit", "main", {
      values: { [WEBHOOK_TOKEN_ACTION_VARIABLE]: "s3cr3t" },
    });
    expect(run?.hook.headers["X-Lakeport-Token"]).toBe("s3cr3t");
  });

  it("fails as a whole when a variable is not set: no hook is called", () => {
    const other = parseActionFile(
      [
        "name: other",
        "on:",
        "  post-commit:",
        "hooks:",
        "  - id: plain",
        "    type: webhook",
        "    properties:",
        "      url: http://127.0.0.1:1/x",
      ].join("\n"),
      "b",
    );
    expect(() => hooksOfRun([other, action], "post-commit", "main", { values: {} })).toThrow(
      /hook lakeport_export: LAKEFSACTION_LAKEPORT_TOKEN not found/,
    );
    expect(hooksOfRun([other], "post-commit", "main", { values: {} })).toHaveLength(1);
  });
});
