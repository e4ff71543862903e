// Persistence of the development server under its data directory. Ranges and metaranges are
// immutable content-addressed files (written once, cached in memory while hot); small mutable
// documents are replaced atomically (write a temporary file, then rename); logs are appended.
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import {
  type EntryValue,
  type Metarange,
  metarangeId,
  type Range,
  type RangeInfo,
  type RangeStore,
  rangeId,
} from "./graveler";

let tmpCounter = 0;

/** Temp file + rename; `mode`: the file's permissions (0o600 for a secret), else the umask's. */
export function writeFileAtomic(file: string, data: string, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  writeFileSync(tmp, data, mode === undefined ? {} : { mode });
  renameSync(tmp, file);
}

export function appendLine(file: string, line: string): void {
  appendFileSync(file, `${line}\n`);
}

/** Append-only logs kept open between appends (staging areas take one line per change). */
export class AppendLogs {
  private readonly fds = new Map<string, number>();
  constructor(private readonly maxOpen = 64) {}

  append(file: string, line: string): void {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = openSync(file, "a");
      this.fds.set(file, fd);
      if (this.fds.size > this.maxOpen) this.close(this.fds.keys().next().value!);
    }
    writeSync(fd, `${line}\n`);
  }

  close(file: string): void {
    const fd = this.fds.get(file);
    if (fd === undefined) return;
    this.fds.delete(file);
    closeSync(fd);
  }

  closeUnder(dir: string): void {
    for (const file of [...this.fds.keys()]) if (file.startsWith(dir)) this.close(file);
  }

  closeAll(): void {
    for (const file of [...this.fds.keys()]) this.close(file);
  }
}

export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    // A torn last line (crash mid-append) is ignored.
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // skip
    }
  }
  return out;
}

/** A small least-recently-used cache. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

export class FileRangeStore implements RangeStore {
  // About 250 KB per cached range of 1000 entries: 256 ranges keep memory near 64 MB.
  private readonly ranges = new Lru<Range>(256);
  private readonly metaranges = new Lru<Metarange>(256);

  constructor(private readonly dir: string) {
    mkdirSync(path.join(dir, "ranges"), { recursive: true });
    mkdirSync(path.join(dir, "metaranges"), { recursive: true });
  }

  private rangeFile(id: string) {
    return path.join(this.dir, "ranges", id.slice(0, 2), `${id}.json`);
  }
  private metarangeFile(id: string) {
    return path.join(this.dir, "metaranges", `${id}.json`);
  }

  getRange(id: string): Range {
    const hit = this.ranges.get(id);
    if (hit) return hit;
    const { keys, values } = JSON.parse(readFileSync(this.rangeFile(id), "utf8")) as {
      keys: string[];
      values: EntryValue[];
    };
    const range = { id, keys, values };
    this.ranges.set(id, range);
    return range;
  }

  putRange(keys: string[], values: EntryValue[]): RangeInfo {
    const id = rangeId(keys, values);
    const file = this.rangeFile(id);
    if (!existsSync(file)) writeFileAtomic(file, JSON.stringify({ keys, values }));
    this.ranges.set(id, { id, keys, values });
    return { id, min: keys[0]!, max: keys[keys.length - 1]!, count: keys.length };
  }

  getMetarange(id: string): Metarange {
    const hit = this.metaranges.get(id);
    if (hit) return hit;
    const ranges = JSON.parse(readFileSync(this.metarangeFile(id), "utf8")) as RangeInfo[];
    const mr = { id, ranges };
    this.metaranges.set(id, mr);
    return mr;
  }

  putMetarange(ranges: RangeInfo[]): Metarange {
    const id = metarangeId(ranges);
    const file = this.metarangeFile(id);
    if (!existsSync(file)) writeFileAtomic(file, JSON.stringify(ranges));
    const mr = { id, ranges };
    this.metaranges.set(id, mr);
    return mr;
  }
}

/** Ranges kept in memory only (unit tests of the structures at scale). */
export class MemoryRangeStore implements RangeStore {
  readonly ranges = new Map<string, Range>();
  readonly metaranges = new Map<string, Metarange>();
  rangeWrites = 0;
  getRange(id: string): Range {
    const r = this.ranges.get(id);
    if (!r) throw new Error(`range ${id} not found`);
    return r;
  }
  putRange(keys: string[], values: EntryValue[]): RangeInfo {
    const id = rangeId(keys, values);
    if (!this.ranges.has(id)) {
      this.rangeWrites++;
      this.ranges.set(id, { id, keys, values });
    }
    return { id, min: keys[0]!, max: keys[keys.length - 1]!, count: keys.length };
  }
  getMetarange(id: string): Metarange {
    const m = this.metaranges.get(id);
    if (!m) throw new Error(`metarange ${id} not found`);
    return m;
  }
  putMetarange(ranges: RangeInfo[]): Metarange {
    const mr = { id: metarangeId(ranges), ranges };
    this.metaranges.set(mr.id, mr);
    return mr;
  }
}
