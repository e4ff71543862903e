import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "vitest";
import { cliWithExampleKeys } from "../support/cli-with-example-keys";

const claim = (location: string) => ({
  repository: "repo-x",
  location,
  mark_id: "m1",
  claimed_at: "2026-12-06T00:00:00.000Z",
});

test("gc backup-locations follows next_offset to the last page", async () => {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? "");
    const url = new URL(req.url ?? "/", "http://stub");
    const after = url.searchParams.get("after");
    const page =
      after === null
        ? { results: [claim("s3://b/a"), claim("s3://b/b")], has_more: true, next: "s3://b/b" }
        : { results: [claim("s3://b/c")], has_more: false, next: "" };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        results: page.results,
        pagination: {
          has_more: page.has_more,
          next_offset: page.next,
          results: page.results.length,
          max_per_page: 1000,
        },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const out = await cliWithExampleKeys(
      ["gc", "backup-locations", "lakefs://repo-x"],
      `http://127.0.0.1:${port}`,
    );
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(
      out.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual(["s3://b/a", "s3://b/b", "s3://b/c"]);
    expect(asked).toHaveLength(2);
    expect(asked[1]).toContain(`after=${encodeURIComponent("s3://b/b")}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
