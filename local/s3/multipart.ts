// Multipart pieces s3rver 3.7.1 lacks: AbortMultipartUpload (it answers MethodNotAllowed),
// NoSuchUpload for unknown upload ids (it silently creates them), and part checks on
// CompleteMultipartUpload (it ignores the listed ETags).
import { S3ErrorResponse, xmlUnescape } from "./s3-error";
import type { StoreLayout } from "./store-layout";

export function parseCompleteBody(xml: string): { partNumber: number; etag: string }[] {
  const parts: { partNumber: number; etag: string }[] = [];
  for (const m of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const body = m[1] ?? "";
    const n = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(body)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(body)?.[1];
    if (n === undefined || etag === undefined) {
      throw new S3ErrorResponse(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
      );
    }
    parts.push({ partNumber: Number(n), etag: xmlUnescape(etag).replace(/"/g, "").trim() });
  }
  if (parts.length === 0) {
    throw new S3ErrorResponse(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema",
    );
  }
  return parts;
}

/** Checks the listed parts exist with those ETags and come in ascending order, as S3 does. */
export async function checkCompleteParts(
  layout: StoreLayout,
  bucket: string,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
  minPartBytes: number,
): Promise<void> {
  let previous = 0;
  for (const [i, part] of parts.entries()) {
    if (part.partNumber <= previous) {
      throw new S3ErrorResponse(
        "InvalidPartOrder",
        "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
      );
    }
    previous = part.partNumber;
    const stored = await layout.partEtag(bucket, uploadId, part.partNumber);
    if (stored === undefined || stored !== part.etag) {
      throw new S3ErrorResponse(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: part.partNumber, ETag: part.etag },
      );
    }
    const size = (await layout.partSize(bucket, uploadId, part.partNumber)) ?? 0;
    if (i < parts.length - 1 && size < minPartBytes) {
      throw new S3ErrorResponse(
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed object size.",
        {
          ProposedSize: size,
          MinSizeAllowed: minPartBytes,
          PartNumber: part.partNumber,
          ETag: part.etag,
        },
      );
    }
  }
}
