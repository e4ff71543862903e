// `npm run local` deploys what `cdk deploy` would with the same LAKEPORT_* settings: the
// names infra/app.ts reads are passed on to the local synthesis, the local environment's own
// variables and the settings that stay local (stack name, lakeFS endpoint and secret) are not.
import { afterEach, expect, it, vi } from "vitest";
import { cdkSettingsFromEnvironment, localLambdaEnv } from "../../local/lakeport-assembly";

it("passes on the settings infra/app.ts reads, and only those", async () => {
  const schedules = '[{"repository":"r","expression":"cron(0 3 ? * SUN *)"}]';
  const settings = await cdkSettingsFromEnvironment({
    LAKEPORT_GC_SCHEDULES: schedules,
    LAKEPORT_MAX_MARK_AGE_HOURS: "12",
    LAKEPORT_EXPORT_BUCKETS: "a,b",
    LAKEPORT_STUCK_EXPORT_MINUTES: "",
    // The local environment's own, and the ones that stay local.
    LAKEPORT_PORT_BASE: "9000",
    LAKEPORT_STACK_NAME: "Other",
    LAKEPORT_LAKEFS_ENDPOINT: "https://lakefs.example.com",
    LAKEPORT_LAKEFS_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
    PATH: "/usr/bin",
  });
  expect(settings).toEqual({
    LAKEPORT_GC_SCHEDULES: schedules,
    LAKEPORT_MAX_MARK_AGE_HOURS: "12",
    LAKEPORT_EXPORT_BUCKETS: "a,b",
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

it("locally, export may write to any bucket unless LAKEPORT_EXPORT_BUCKETS is set", () => {
  const env = () =>
    localLambdaEnv({
      lakeFsEndpoint: "http://127.0.0.1:7072",
      lakeFsAccessKeyId: "AK",
      lakeFsSecretAccessKey: "SK",
      webhookToken: "t",
    }).EXPORT_BUCKETS;
  vi.stubEnv("LAKEPORT_EXPORT_BUCKETS", "");
  expect(env()).toBe("*");
  vi.stubEnv("LAKEPORT_EXPORT_BUCKETS", "exports-a,exports-b");
  expect(env()).toBe("exports-a,exports-b");
});
