// The JSON shapes the GC workflow passes between its steps through the work bucket (see
// gcWorkKeys in paths.ts): JSON Lines, one value a line, so a shard can be streamed.
import { z } from "zod";
import type { AddressWorkItem } from "./address-plan";
import { CommitGraph } from "./commit-graph";

/** A shard line could not be read back. */
export class ShardFormatError extends Error {
  override readonly name = "ShardFormatError";
}

const id = z.string().min(1);

/**
 * One address work item as the address step receives it. `after` resumes a listing or diff
 * that a previous invocation stopped part way (the last path it finished), so one huge
 * listing can span several Lambda invocations.
 */
export const AddressWorkItemSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    side: z.enum(["expired", "active"]),
    kind: z.literal("list"),
    commit: id,
    after: z.string().optional(),
  }),
  z.strictObject({
    side: z.enum(["expired", "active"]),
    kind: z.literal("diff"),
    commit: id,
    parent: id,
    after: z.string().optional(),
  }),
  z.strictObject({
    side: z.literal("active"),
    kind: z.literal("staged"),
    branch: id,
    whole: z.literal(true).optional(),
    after: z.string().optional(),
  }),
]);

export type AddressWorkItemInput = z.infer<typeof AddressWorkItemSchema>;

export function encodeJsonLines(values: Iterable<unknown>): string {
  let out = "";
  for (const v of values) out += `${JSON.stringify(v)}\n`;
  return out;
}

/** Parses each non-empty line; `what` names the shard in errors. */
export function* decodeJsonLines(text: string, what: string): Generator<unknown> {
  let line = 0;
  for (const raw of text.split("\n")) {
    line++;
    if (raw.length === 0) continue;
    try {
      yield JSON.parse(raw);
    } catch {
      throw new ShardFormatError(`${what} line ${line}: not JSON`);
    }
  }
}

export function encodeWorkItems(items: Iterable<AddressWorkItem>): string {
  return encodeJsonLines(items);
}

export function decodeWorkItems(text: string): AddressWorkItemInput[] {
  const out: AddressWorkItemInput[] = [];
  let n = 0;
  for (const value of decodeJsonLines(text, "work items")) {
    n++;
    const parsed = AddressWorkItemSchema.safeParse(value);
    if (!parsed.success) throw new ShardFormatError(`work item ${n}: ${parsed.error.message}`);
    out.push(parsed.data);
  }
  return out;
}

/**
 * Address shards: one JSON string a line (keys relative to the namespace). JSON, not raw
 * text, because an S3 key may contain a line break.
 */
export function encodeAddressShard(keys: Iterable<string>): string {
  return encodeJsonLines(keys);
}

export function* decodeAddressShard(text: string): Generator<string> {
  for (const value of decodeJsonLines(text, "address shard")) {
    if (typeof value !== "string")
      throw new ShardFormatError("address shard: a line is not a string");
    yield value;
  }
}

const CommitLineSchema = z.strictObject({
  id,
  parents: z.array(id),
  creation_date: z.number(),
});

/** The commit graph as the commits step writes it: {id, parents, creation_date} a line. */
export function encodeCommitGraph(graph: CommitGraph): string {
  const lines: unknown[] = [];
  for (const commitId of graph.ids()) {
    lines.push({
      id: commitId,
      parents: graph.parentsOf(commitId),
      creation_date: graph.creationDateOf(commitId),
    });
  }
  return encodeJsonLines(lines);
}

export function decodeCommitGraph(text: string): CommitGraph {
  const graph = new CommitGraph();
  for (const value of decodeJsonLines(text, "commit graph")) {
    const parsed = CommitLineSchema.safeParse(value);
    if (!parsed.success) throw new ShardFormatError(`commit graph: ${parsed.error.message}`);
    graph.add(parsed.data);
  }
  return graph;
}
