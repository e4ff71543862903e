// Links many paths at once on the lakeFS development server (its bulk staging route, 10 000
// entries a request): large branches without uploading their objects.
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
