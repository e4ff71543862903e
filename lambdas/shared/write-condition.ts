// Conditional writes (S3's If-None-Match / If-Match on PutObject): how a writer claims a key or
// updates it only as it last read it, so that two writers racing on one key cannot both win.

/** "absent": the key must not exist; `{ etag }`: the key must still hold what had that ETag. */
export type WriteCondition = "absent" | { etag: string };

/** The key changed (or appeared, or vanished) since it was read: the write did not happen. */
export class WriteConditionFailedError extends Error {
  override readonly name = "WriteConditionFailedError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly condition: WriteCondition,
  ) {
    super(
      `s3://${bucket}/${key} ${condition === "absent" ? "appeared" : "changed"} since it was read: not written`,
    );
  }
}

/** A key's text and the ETag that names this version of it. */
export interface VersionedText {
  text: string;
  etag: string;
}
