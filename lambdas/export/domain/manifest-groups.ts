// A full export's manifest is written in groups of task shards, side by side (a distributed map
// between the markers and the status step), instead of by the status step alone: one Lambda
// writing 100 million lines would pass its 15 minutes. A group is a run of consecutive shards
// (path order), written as manifest parts and their CSV twins by one map child, which then
// records the parts in a descriptor; the status step lists every group's parts, in order, in
// the index, and writes itself the parts of a group whose descriptor is missing (a child that
// failed). Parts are content-named, so a group written twice writes the same objects.
import type { ManifestPart } from "./manifest";

/** 100 shards of up to 1 000 tasks: one manifest part of up to 100 000 entries per group. */
export const SHARDS_PER_MANIFEST_GROUP = 100;

export interface ManifestGroup {
  group: number;
  /** First and last task shard of the group, inclusive. */
  first: number;
  last: number;
}

/** What a group's map child wrote: its parts, in order. */
export interface ManifestGroupDescriptor extends ManifestGroup {
  version: 1;
  parts: ManifestPart[];
}

/** The groups of `shards` task shards, `perGroup` consecutive shards each. */
export function manifestGroupsOf(
  shards: number,
  perGroup: number = SHARDS_PER_MANIFEST_GROUP,
): ManifestGroup[] {
  if (!Number.isInteger(perGroup) || perGroup < 1) {
    throw new RangeError(`shards per manifest group: expected a positive integer, got ${perGroup}`);
  }
  const groups: ManifestGroup[] = [];
  for (let first = 0; first < shards; first += perGroup) {
    groups.push({ group: groups.length, first, last: Math.min(shards, first + perGroup) - 1 });
  }
  return groups;
}

/** A map item as the map child gets it, checked (a wrong one is named). */
export function parseManifestGroup(value: unknown): ManifestGroup {
  const g = value as Partial<ManifestGroup> | null;
  const index = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
  if (!g || !index(g.group) || !index(g.first) || !index(g.last) || g.last! < g.first!) {
    throw new RangeError(
      `manifest group: expected {group, first, last}, got ${JSON.stringify(value)}`,
    );
  }
  return { group: g.group!, first: g.first!, last: g.last! };
}

/**
 * A descriptor as read back, or undefined when it is not the one of `expected` (another
 * grouping, a damaged object): the status step then writes the group's parts itself.
 */
export function descriptorOfGroup(
  text: string | undefined,
  expected: ManifestGroup,
): ManifestGroupDescriptor | undefined {
  if (text === undefined) return undefined;
  try {
    const d = JSON.parse(text) as ManifestGroupDescriptor;
    const sameGroup =
      d?.version === 1 &&
      d.group === expected.group &&
      d.first === expected.first &&
      d.last === expected.last;
    const partsOk =
      Array.isArray(d?.parts) &&
      d.parts.every(
        (p) => typeof p?.key === "string" && Number.isInteger(p.entries) && p.entries > 0,
      );
    return sameGroup && partsOk ? d : undefined;
  } catch {
    return undefined;
  }
}
