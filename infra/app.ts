// `cdk deploy` entry point. Settings come from context (-c key=value or cdk.json) or the
// environment (LAKEPORT_*), context first.
import { App } from "aws-cdk-lib";
import { LakeportStack } from "./stack";

export function buildApp(app = new App()) {
  const setting = (key: string, envName: string, fallback?: string): string => {
    const v = app.node.tryGetContext(key) ?? process.env[envName] ?? fallback;
    if (v === undefined || v === "") {
      throw new Error(`missing setting ${key}: pass -c ${key}=... or set ${envName}`);
    }
    return String(v);
  };
  const list = (s: string) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  new LakeportStack(app, setting("stackName", "LAKEPORT_STACK_NAME", "Lakeport"), {
    env: {
      ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
      ...(process.env.CDK_DEFAULT_REGION ? { region: process.env.CDK_DEFAULT_REGION } : {}),
    },
    lakeport: {
      lakeFsEndpoint: setting("lakeFsEndpoint", "LAKEPORT_LAKEFS_ENDPOINT"),
      lakeFsSecretArn: setting("lakeFsSecretArn", "LAKEPORT_LAKEFS_SECRET_ARN"),
      storageBuckets: list(setting("storageBuckets", "LAKEPORT_STORAGE_BUCKETS")),
      exportBuckets: list(setting("exportBuckets", "LAKEPORT_EXPORT_BUCKETS")),
      maxConcurrency: Number(setting("maxConcurrency", "LAKEPORT_MAX_CONCURRENCY", "50")),
    },
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().synth();
}
