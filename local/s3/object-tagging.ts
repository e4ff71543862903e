// Object tags as S3 keeps them across writes: s3rver stores a tag set in
// "<key>._S3rver_tagging.xml" but never clears or copies it, so a re-written object kept the
// old object's tags and a copy lost the source's. On S3 every new object version starts with
// the tags its request gives: CopyObject copies the source's (x-amz-tagging-directive COPY, the
// default) or takes x-amz-tagging (REPLACE); PutObject takes x-amz-tagging; a completed
// multipart upload takes its CreateMultipartUpload's x-amz-tagging.
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import type { S3rverStore } from "./store-layout";

/** What a write does with the new object's tags. */
export type TagWrite =
  | { kind: "copy-from"; bucket: string; key: string }
  | { kind: "set"; header: string | undefined };

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The Tagging document of an `x-amz-tagging` header (URL query form, `k1=v1&k2=v2`). */
export function taggingXmlOf(header: string): string {
  const tags = [...new URLSearchParams(header)]
    .map(([k, v]) => `<Tag><Key>${xmlEscape(k)}</Key><Value>${xmlEscape(v)}</Value></Tag>`)
    .join("");
  return `<Tagging><TagSet>${tags}</TagSet></Tagging>`;
}

/** Gives the object at bucket/key the tags `write` says, replacing whatever it had. */
export function writeObjectTags(
  store: S3rverStore,
  bucket: string,
  key: string,
  write: TagWrite,
): void {
  const file = store.getResourcePath(bucket, key, "tagging.xml");
  if (write.kind === "copy-from") {
    const source = store.getResourcePath(write.bucket, write.key, "tagging.xml");
    if (source === file) return;
    try {
      copyFileSync(source, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      rmSync(file, { force: true });
    }
    return;
  }
  if (write.header) writeFileSync(file, taggingXmlOf(write.header));
  else rmSync(file, { force: true });
}

/** The tag write a CopyObject request asks for. */
export function copyTagWrite(
  source: { bucket: string; key: string },
  directive: string | undefined,
  header: string | undefined,
): TagWrite {
  return directive === "REPLACE"
    ? { kind: "set", header }
    : { kind: "copy-from", bucket: source.bucket, key: source.key };
}
