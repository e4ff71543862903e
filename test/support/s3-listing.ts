// What a bucket holds under a prefix, read page by page (tests compare it with a commit).
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

/** Every key under `prefix`, relative to it, with its ETag (in S3's key order). */
export async function etagsUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!.slice(prefix.length), o.ETag!);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}
