// S3's XML error responses. The proxy answers in exactly the shape S3 uses so that the AWS SDK
// maps them to the same typed exceptions (AccessDenied, NoSuchKey, SlowDown, ...).
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  BucketAlreadyOwnedByYou: 409,
  EntityTooSmall: 400,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  MalformedXML: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  InternalError: 500,
};

/** An S3 error answer: code, message and the extra elements S3 puts in the XML body. */
export class S3ErrorResponse extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly detail: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = "S3ErrorResponse";
    this.status = STATUS[code] ?? 400;
  }
}

export function xmlEscape(value: string | number): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

export function xmlUnescape(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e] as string;
  });
}

export const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

export function requestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

export function sendXml(res: ServerResponse, status: number, body: string, headers = {}): void {
  const buf = Buffer.from(XML_HEADER + body, "utf8");
  res.writeHead(status, {
    "content-type": "application/xml",
    "content-length": buf.length,
    "x-amz-request-id": requestId(),
    ...headers,
  });
  res.end(buf);
}

export function sendS3Error(res: ServerResponse, err: S3ErrorResponse, method = "GET"): void {
  const extra = Object.entries(err.detail)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join("");
  const id = requestId();
  const body = `<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${extra}<RequestId>${id}</RequestId></Error>`;
  if (method === "HEAD") {
    // HEAD answers carry no body; the SDK reads the status code.
    res.writeHead(err.status, { "x-amz-request-id": id });
    res.end();
    return;
  }
  sendXml(res, err.status, body, { "x-amz-request-id": id });
}

export const accessDenied = () => new S3ErrorResponse("AccessDenied", "Access Denied");
export const slowDown = () => new S3ErrorResponse("SlowDown", "Please reduce your request rate.");
export const noSuchBucket = (bucket: string) =>
  new S3ErrorResponse("NoSuchBucket", "The specified bucket does not exist", {
    BucketName: bucket,
  });
export const noSuchKey = (key: string) =>
  new S3ErrorResponse("NoSuchKey", "The specified key does not exist.", { Key: key });
export const noSuchUpload = (uploadId: string) =>
  new S3ErrorResponse(
    "NoSuchUpload",
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    { UploadId: uploadId },
  );
