// The export steps' object store port in memory (a fake at the port for step tests).
import { createHash } from "node:crypto";
import type { ExportObjectStore } from "../../lambdas/export/ports";
import {
  type WriteCondition,
  WriteConditionFailedError,
} from "../../lambdas/shared/write-condition";

export class MemoryExportStore implements ExportObjectStore {
  /** Text objects by `bucket/key`. */
  readonly objects = new Map<string, string>();
  /** Objects put as bytes (compressed files) by `bucket/key`. */
  readonly binary = new Map<string, Uint8Array>();
  /** Every get, as `bucket/key`. */
  readonly reads: string[] = [];
  /** ETag of each key, as S3 would give it (a counter here: any write changes it). */
  readonly #etags = new Map<string, string>();
  #writes = 0;
  async put(bucket: string, key: string, body: string | Uint8Array) {
    this.#etags.set(`${bucket}/${key}`, `"w${++this.#writes}"`);
    if (typeof body === "string") {
      this.binary.delete(`${bucket}/${key}`);
      this.objects.set(`${bucket}/${key}`, body);
    } else {
      this.objects.delete(`${bucket}/${key}`);
      this.binary.set(`${bucket}/${key}`, body);
    }
  }
  async delete(bucket: string, key: string) {
    this.#etags.delete(`${bucket}/${key}`);
    this.objects.delete(`${bucket}/${key}`);
    this.binary.delete(`${bucket}/${key}`);
  }
  async getText(bucket: string, key: string) {
    this.reads.push(`${bucket}/${key}`);
    const bytes = this.binary.get(`${bucket}/${key}`);
    return bytes ? Buffer.from(bytes).toString("utf8") : this.objects.get(`${bucket}/${key}`);
  }
  async getVersioned(bucket: string, key: string) {
    const text = await this.getText(bucket, key);
    if (text === undefined) return undefined;
    return { text, etag: this.#etags.get(`${bucket}/${key}`) ?? "" };
  }
  async putIf(bucket: string, key: string, body: string, condition: WriteCondition) {
    const id = `${bucket}/${key}`;
    const held = this.objects.has(id) || this.binary.has(id);
    if (condition === "absent" ? held : !held || this.#etags.get(id) !== condition.etag) {
      throw new WriteConditionFailedError(bucket, key, condition);
    }
    await this.put(bucket, key, body);
    return this.#etags.get(id) ?? "";
  }
  async *listKeys(bucket: string, prefix: string) {
    for (const k of [...this.objects.keys(), ...this.binary.keys()].sort()) {
      if (k.startsWith(`${bucket}/${prefix}`)) yield k.slice(bucket.length + 1);
    }
  }
  async lines(bucket: string, key: string) {
    this.reads.push(`${bucket}/${key}`);
    const bytes = this.binary.get(`${bucket}/${key}`);
    const body = bytes ? Buffer.from(bytes).toString("utf8") : this.objects.get(`${bucket}/${key}`);
    if (body === undefined) return undefined;
    return (async function* () {
      const lines = body.split("\n");
      if (lines.at(-1) === "") lines.pop();
      yield* lines;
    })();
  }
  /** Chunks are kept aside; the object appears when the upload is closed, as on S3. */
  upload(bucket: string, key: string) {
    const chunks: string[] = [];
    return {
      write: async (chunk: string) => {
        chunks.push(chunk);
      },
      close: async () => {
        this.#etags.set(`${bucket}/${key}`, `"w${++this.#writes}"`);
        this.objects.set(`${bucket}/${key}`, chunks.join(""));
      },
      abort: async () => {
        chunks.length = 0;
      },
    };
  }
  async *list(bucket: string, prefix: string, startAfter?: string) {
    for await (const key of this.listKeys(bucket, prefix)) {
      if (startAfter !== undefined && key <= startAfter) continue;
      const body =
        this.binary.get(`${bucket}/${key}`) ?? this.objects.get(`${bucket}/${key}`) ?? "";
      const etag = `"${createHash("md5").update(body).digest("hex")}"`;
      yield { key, size: Buffer.byteLength(body), etag };
    }
  }
}
