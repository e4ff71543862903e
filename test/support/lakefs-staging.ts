// Links many paths at once on the lakeFS development server (its bulk staging route, 10 000
// entries a request): large branches without uploading their objects.
import { randomUUID } from "node:crypto";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { LakeportEnvironment } from "./lakeport-env";

export interface LinkedEntry {
  path: string;
  physical_address: string;
  checksum: string;
  size_bytes: number;
}

/** Stages `entries` on `branch` of `repo`; throws with the server's answer when refused. */
export async function stageLinkedEntries(
  env: Pick<LakeportEnvironment, "lakefsKeys" | "lakefsServer">,
  repo: string,
  branch: string,
  entries: readonly LinkedEntry[],
): Promise<void> {
  const auth = Buffer.from(`${env.lakefsKeys.accessKeyId}:${env.lakefsKeys.secretAccessKey}`);
  for (let i = 0; i < entries.length; i += 10_000) {
    const res = await fetch(
      `${env.lakefsServer.endpoint}/_lakeport/repositories/${repo}/branches/${branch}/staging`,
      {
        method: "POST",
        headers: {
          authorization: `Basic ${auth.toString("base64")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ entries: entries.slice(i, i + 10_000) }),
      },
    );
    if (res.status !== 200) throw new Error(`staging: ${res.status} ${await res.text()}`);
  }
}

/**
 * Writes one object of `body` into the repository's storage namespace and links every path of
 * `paths` on `branch` to it (its real ETag as their checksum); returns its key and ETag.
 */
export async function linkPathsToOneObject(
  env: Pick<LakeportEnvironment, "lakefsKeys" | "lakefsServer" | "s3">,
  repo: { id: string; bucket: string },
  branch: string,
  paths: readonly string[],
  body: string,
): Promise<{ key: string; etag: string }> {
  const key = `repos/${repo.id}/data/linked-${randomUUID()}`;
  await env.s3.send(new PutObjectCommand({ Bucket: repo.bucket, Key: key, Body: body }));
  const etag = (await env.s3.send(new HeadObjectCommand({ Bucket: repo.bucket, Key: key }))).ETag!;
  await stageLinkedEntries(
    env,
    repo.id,
    branch,
    paths.map((path) => ({
      path,
      physical_address: `s3://${repo.bucket}/${key}`,
      checksum: etag.replaceAll('"', ""),
      size_bytes: Buffer.byteLength(body),
    })),
  );
  return { key, etag };
}
