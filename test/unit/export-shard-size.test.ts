// README (Limits): export shards hold at most 1 000 tasks.
import { expect, it } from "vitest";
import { ShardWriter } from "../../lambdas/export/domain/shard-writer";

it("writes shards of at most 1 000 tasks by default", async () => {
  const shards: number[] = [];
  const writer = new ShardWriter(
    {
      write: async (_index, lines) => {
        shards.push(lines.length);
      },
    },
    {},
  );
  for (let i = 0; i < 2_500; i++) {
    await writer.add({ op: "delete", path: `p/${i}`, destKey: `out/p/${i}` });
  }
  await writer.flush();
  await writer.settle();
  expect(shards).toEqual([1_000, 1_000, 500]);
});
