// Runs the lakeFS development server alone:
//   npx tsx local/lakefs/main.ts --s3-endpoint http://127.0.0.1:PORT [--port 7072] [--data-dir .local/lakefs]
// The embedded S3 must already run (s3rver's default keys are used unless
// LAKEPORT_S3_ACCESS_KEY_ID/LAKEPORT_S3_SECRET_ACCESS_KEY are set).
import path from "node:path";
import { parseArgs } from "node:util";
import { LOCAL_S3_CREDENTIALS } from "../s3/server";
import { lakeFsEndpointsEntry, loadOrCreateLakeFsKeys } from "./local-credentials";
import { startLakeFsDevServer } from "./server";

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "7072" },
      "data-dir": { type: "string", default: ".local/lakefs" },
      "s3-endpoint": { type: "string" },
      region: { type: "string", default: "us-east-1" },
    },
  });
  const s3Endpoint = values["s3-endpoint"] ?? process.env.AWS_ENDPOINT_URL_S3;
  if (!s3Endpoint) throw new Error("--s3-endpoint (or AWS_ENDPOINT_URL_S3) is required");
  const dataDir = path.resolve(values["data-dir"]!);
  const keys = loadOrCreateLakeFsKeys(dataDir);
  const server = await startLakeFsDevServer({
    port: Number(values.port),
    dataDir,
    s3: {
      endpoint: s3Endpoint,
      region: values.region!,
      credentials: {
        accessKeyId: process.env.LAKEPORT_S3_ACCESS_KEY_ID ?? LOCAL_S3_CREDENTIALS.accessKeyId,
        secretAccessKey:
          process.env.LAKEPORT_S3_SECRET_ACCESS_KEY ?? LOCAL_S3_CREDENTIALS.secretAccessKey,
      },
    },
    credentials: keys,
  });
  console.log(JSON.stringify(lakeFsEndpointsEntry(server.endpoint, keys), null, 2));
  const stop = () => {
    server.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
