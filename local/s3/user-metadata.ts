// S3's rules for user metadata (x-amz-meta-*) that s3rver does not apply. Over REST a value
// must be US-ASCII: a client that sends other bytes (Node writes header strings as Latin-1,
// while the SDK signs them as UTF-8) fails S3's signature check, whereas s3rver stores what it
// got. Non-ASCII values travel RFC 2047 encoded (S3 decodes them before storing). And the user
// metadata of a new object is at most 2 KB (keys and values, UTF-8 bytes).
import type { IncomingHttpHeaders } from "node:http";
import { S3ErrorResponse } from "./s3-error";

export const MAX_USER_METADATA_BYTES = 2048;

const META_PREFIX = "x-amz-meta-";
// Node decodes header bytes as Latin-1: a byte above 0x7F arrives as a character above U+007E.
const NOT_ASCII = /[^\t\x20-\x7e]/;

/**
 * Throws the error S3 answers for the request's user metadata, if any. `stored`: whether the
 * request gives a new object these values (PutObject, CreateMultipartUpload, CopyObject with
 * REPLACE), so that their size counts.
 */
export function checkUserMetadata(headers: IncomingHttpHeaders, stored: boolean): void {
  let bytes = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith(META_PREFIX) || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(",") : raw;
    if (NOT_ASCII.test(value)) {
      throw new S3ErrorResponse(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      );
    }
    bytes += Buffer.byteLength(name.slice(META_PREFIX.length)) + Buffer.byteLength(value);
  }
  if (stored && bytes > MAX_USER_METADATA_BYTES) {
    throw new S3ErrorResponse(
      "MetadataTooLarge",
      "Your metadata headers exceed the maximum allowed metadata size.",
      { Size: bytes, MaxSizeAllowed: MAX_USER_METADATA_BYTES },
    );
  }
}
