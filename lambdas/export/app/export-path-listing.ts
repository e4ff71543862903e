// What is in the export path now: the objects under `exportPrefix/`, as paths relative to it,
// in key order (full exports merge-join it with the listing of the commit).
import type { ExportedObject, ExportPathListing } from "../domain/plan";
import type { ExportObjectStore } from "../ports";

export class ExportPathObjects implements ExportPathListing {
  private readonly keyPrefix: string;

  constructor(
    private readonly store: Pick<ExportObjectStore, "list">,
    private readonly bucket: string,
    exportPrefix: string,
  ) {
    this.keyPrefix = exportPrefix === "" ? "" : `${exportPrefix}/`;
  }

  async *objects(afterPath: string | undefined): AsyncGenerator<ExportedObject> {
    const startAfter = afterPath === undefined ? undefined : `${this.keyPrefix}${afterPath}`;
    for await (const o of this.store.list(this.bucket, this.keyPrefix, startAfter)) {
      yield { path: o.key.slice(this.keyPrefix.length), etag: o.etag ?? "", size: o.size };
    }
  }
}
