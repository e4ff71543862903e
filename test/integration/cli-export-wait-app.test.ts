// `lakeport export set ... --continuous=false --wait` through the real Lakeport app
// (test/support/lakeport-env.ts: the synthesized stack on the local cloud): the plan and copy
// steps record the export's counts, the CLI follows them (one progress line at the start, no
// terminal codes, as in a log) and ends with the counts of what was exported.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const outBucket = uniqueName("cli-wait-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

it("export --wait ends with the counts of the export: copied objects and bytes, deleted, failed, duration", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const contents = { "logs/a.txt": "A".repeat(1000), "logs/b.txt": "BB", "c.bin": "C".repeat(48) };
  for (const [p, content] of Object.entries(contents)) {
    await env.lakefs.uploadObject(repo.id, "main", p, { content });
  }
  await env.lakefs.commit(repo.id, "main", { message: "three objects" });
  const r = await env.lakeport(
    [
      ...["export", "set", `lakefs://${repo.id}/main`, "--path", `s3://${outBucket}/data`],
      ...["--continuous=false", "--wait"],
    ],
    { env: { LAKEPORT_POLL_MS: "100" } },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^configuration stored \(version 1\)\nstate: +exported-successfully\n/);
  expect(r.stdout).toMatch(/\ncounts: +3 copied \(1\.03 KiB\), 0 deleted, 0 failed in \d+s\n$/);
  // Not a terminal: plain lines (the first update; then one a minute), no redraw codes.
  expect(r.stderr).not.toContain("\r");
  expect(r.stderr).not.toContain("\x1b");
  const progressLines = r.stderr.split("\n").filter(Boolean);
  expect(progressLines.length).toBeGreaterThanOrEqual(1);
  for (const line of progressLines) {
    expect(line).toMatch(/^export \S+: (starting|planning|copying|writing markers and status)/);
  }

  const status = await env.api.get(`/repositories/${repo.id}/branches/main/export-status`);
  expect(status.body.progress).toMatchObject({
    planDone: true,
    planned: { copies: 3, deletes: 0, copyBytes: 1050 },
    done: { copied: 3, deleted: 0, failed: 0, copiedBytes: 1050 },
    final: true,
  });
  expect(status.body.progress.done.shards).toBe(status.body.progress.planned.shards);
  const listed = await env.s3.send(
    new ListObjectsV2Command({ Bucket: outBucket, Prefix: "data/" }),
  );
  expect(listed.Contents?.map((c) => c.Key).sort()).toEqual([
    "data/c.bin",
    "data/logs/a.txt",
    "data/logs/b.txt",
  ]);
});
