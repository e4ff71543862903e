import { mkdtemp } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { LOCAL_S3_CREDENTIALS, startS3Server } from "../s3/server";
import { startLakeFsDevServer } from "./server";

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "lkb-"));
  const s3srv = await startS3Server({ directory: path.join(dir, "s3") });
  const s3 = createS3Client({
    endpoint: s3srv.endpoint,
    region: "us-east-1",
    credentials: LOCAL_S3_CREDENTIALS,
  });
  await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
  const keys = { accessKeyId: "a", secretAccessKey: "b" };
  const srv = await startLakeFsDevServer({
    dataDir: path.join(dir, "lk"),
    s3: { endpoint: s3srv.endpoint, region: "us-east-1", credentials: LOCAL_S3_CREDENTIALS },
    credentials: keys,
  });
  const c = new LakeFsClient({ endpoint: srv.endpoint, credentials: keys });
  await c.createRepository({ name: "big", storage_namespace: "s3://bench/big" });
  const N = Number(process.argv[2] ?? 20000);
  let t = Date.now();
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const auth = `Basic ${Buffer.from("a:b").toString("base64")}`;
  const link = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({
        staging: { physical_address: `s3://bench/ext/${i}` },
        checksum: "x",
        size_bytes: i,
      });
      const req = http.request(
        `${srv.endpoint}/api/v1/repositories/big/branches/main/staging/backing?path=p/${String(i).padStart(7, "0")}`,
        {
          method: "PUT",
          agent,
          headers: { authorization: auth, "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode))),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) await link(next++);
    }),
  );
  console.log("link", N, Date.now() - t, "ms");
  t = Date.now();
  const c1 = await c.commit("big", "main", { message: "all" });
  console.log("commit", Date.now() - t);
  t = Date.now();
  let n = 0;
  for await (const p of c.listObjects("big", "main", { amount: 1000 })) n += p.results.length;
  console.log("list all", n, Date.now() - t);
  t = Date.now();
  for (let i = 0; i < 10; i++)
    await c.linkPhysicalAddress("big", "main", `p/${String(i * 1000).padStart(7, "0")}`, {
      physicalAddress: `s3://bench/ext/new${i}`,
      checksum: "y",
      sizeBytes: 1,
    });
  const c2 = await c.commit("big", "main", { message: "ten" });
  console.log("commit 10", Date.now() - t);
  t = Date.now();
  let d = 0;
  for await (const p of c.diffRefs("big", c1.id, c2.id)) d += p.results.length;
  console.log("diff", d, Date.now() - t);
  t = Date.now();
  const pg = await c.listObjectsPage("big", "main", { after: "p/0015000", amount: 10 });
  console.log("seek", pg.results[0]?.path, Date.now() - t);
  await srv.stop();
  await s3srv.stop();
}
main();
