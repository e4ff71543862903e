// Per-key readers-writer locks of the embedded S3. On S3 a read sees one whole version of an
// object; s3rver reads an object's size, ETag and bytes from separate files, one after the
// other, while a write replaces them one after the other: a read racing a write could answer
// the old size with the new bytes (a truncated body) or the new bytes with the old ETag.
// Reads of a key share its lock; a write of it holds it alone. FIFO: a waiting write is not
// overtaken by later reads.
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkWriteConditions, writeConditionsOf } from "./conditional-write";
import type { StoreLayout } from "./store-layout";

export type LockMode = "shared" | "exclusive";

interface KeyState {
  readers: number;
  writer: boolean;
  queue: { mode: LockMode; grant: () => void }[];
}

const fits = (s: KeyState, mode: LockMode) =>
  mode === "shared" ? !s.writer : !s.writer && s.readers === 0;

function take(s: KeyState, mode: LockMode): void {
  if (mode === "shared") s.readers++;
  else s.writer = true;
}

export class KeyLocks {
  readonly #keys = new Map<string, KeyState>();

  /** Runs `work` holding the key alone (a write). */
  hold<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    return this.holdAll([{ bucket, key, mode: "exclusive" }], work);
  }

  /** Runs `work` sharing the key with other reads (a read). */
  shared<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    return this.holdAll([{ bucket, key, mode: "shared" }], work);
  }

  /** Runs `work` holding several keys, taken in one order (no two requests wait on each other). */
  async holdAll<T>(
    targets: { bucket: string; key: string; mode: LockMode }[],
    work: () => Promise<T>,
  ): Promise<T> {
    const modes = new Map<string, LockMode>();
    for (const t of targets) {
      const id = `${t.bucket}/${t.key}`;
      modes.set(id, modes.get(id) === "exclusive" ? "exclusive" : t.mode);
    }
    const held: [string, LockMode][] = [];
    try {
      for (const id of [...modes.keys()].sort()) {
        const mode = modes.get(id) as LockMode;
        await this.#acquire(id, mode);
        held.push([id, mode]);
      }
      return await work();
    } finally {
      for (const [id, mode] of held.reverse()) this.#release(id, mode);
    }
  }

  /**
   * A PutObject (`put` answers it), holding the key alone: its write conditions, if any, are
   * checked and the object written, and the answer sent, before any other request of the key.
   */
  async write(
    layout: StoreLayout,
    target: { bucket: string; key: string },
    req: IncomingMessage,
    res: ServerResponse,
    put: () => Promise<void>,
  ): Promise<void> {
    const { bucket, key } = target;
    const conditions = writeConditionsOf(req);
    await this.hold(bucket, key, async () => {
      if (conditions) await checkWriteConditions(layout, bucket, key, conditions);
      await put();
      if (!res.writableFinished) await once(res, "finish").catch(() => undefined);
    });
  }

  #acquire(id: string, mode: LockMode): Promise<void> {
    let s = this.#keys.get(id);
    if (!s) {
      s = { readers: 0, writer: false, queue: [] };
      this.#keys.set(id, s);
    }
    const state = s;
    if (state.queue.length === 0 && fits(state, mode)) {
      take(state, mode);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      state.queue.push({
        mode,
        grant: () => {
          take(state, mode);
          resolve();
        },
      });
    });
  }

  #release(id: string, mode: LockMode): void {
    const s = this.#keys.get(id);
    if (!s) return;
    if (mode === "shared") s.readers--;
    else s.writer = false;
    while (s.queue.length > 0 && fits(s, (s.queue[0] as { mode: LockMode }).mode)) {
      const next = s.queue.shift() as { mode: LockMode; grant: () => void };
      next.grant();
      if (next.mode === "exclusive") break;
    }
    if (!s.writer && s.readers === 0 && s.queue.length === 0) this.#keys.delete(id);
  }
}
