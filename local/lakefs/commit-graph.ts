// Walks over the commit graph: the log order (newest first by creation date, then
// generation, then id) and the best common ancestor of two commits.
import type { CommitRecord, RepoState, RepositoryStore } from "./repository-store";

/** Ancestry newest first: a frontier ordered by creation date, then generation, then id. */
export function* walkLog(
  repos: RepositoryStore,
  state: RepoState,
  head: CommitRecord,
  firstParent: boolean,
): Generator<CommitRecord> {
  if (firstParent) {
    let c: CommitRecord | undefined = head;
    while (c) {
      yield c;
      c = c.parents[0] ? repos.commitOf(state, c.parents[0]) : undefined;
    }
    return;
  }
  const seen = new Set<string>([head.id]);
  const frontier: CommitRecord[] = [head];
  while (frontier.length > 0) {
    const c = frontier.shift()!;
    yield c;
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      insertByRecency(frontier, repos.commitOf(state, p));
    }
  }
}

/** The best common ancestor: walk both sides by generation until one commit is reached by both. */
export function mergeBase(
  repos: RepositoryStore,
  state: RepoState,
  a: string,
  b: string,
): CommitRecord | undefined {
  const flags = new Map<string, number>();
  const queue: CommitRecord[] = [];
  const push = (id: string, flag: number) => {
    const old = flags.get(id) ?? 0;
    if ((old | flag) === old) return;
    flags.set(id, old | flag);
    const commit = repos.commitOf(state, id);
    if (old === 0) insertByGeneration(queue, commit);
  };
  push(a, 1);
  push(b, 2);
  while (queue.length > 0) {
    const c = queue.shift()!;
    const flag = flags.get(c.id)!;
    if (flag === 3) return c;
    for (const p of c.parents) push(p, flag);
  }
  return undefined;
}

function newerFirst(a: CommitRecord, b: CommitRecord): number {
  if (a.creation_date !== b.creation_date) return b.creation_date - a.creation_date;
  if (a.generation !== b.generation) return b.generation - a.generation;
  return a.id < b.id ? -1 : 1;
}

function insertByRecency(list: CommitRecord[], c: CommitRecord): void {
  let i = 0;
  while (i < list.length && newerFirst(list[i]!, c) < 0) i++;
  list.splice(i, 0, c);
}

function insertByGeneration(list: CommitRecord[], c: CommitRecord): void {
  const before = (x: CommitRecord) =>
    x.generation !== c.generation ? x.generation > c.generation : newerFirst(x, c) < 0;
  let i = 0;
  while (i < list.length && before(list[i]!)) i++;
  list.splice(i, 0, c);
}
