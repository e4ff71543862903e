// The S3 error a request failed with; a request that succeeded fails the test.
import type { S3ServiceException } from "@aws-sdk/client-s3";

export async function s3ErrorOf(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (err) {
    return err as S3ServiceException;
  }
  throw new Error("expected the request to fail");
}
