// The multipart/form-data body of lakeFS's uploadObject (what lakectl and the Python SDK
// send): one file part named "content"; its Content-Type header is the object's content type.
import { ApiError } from "./api-error";

export interface FormFile {
  content: Buffer;
  /** The part's Content-Type header, if it has one. */
  contentType?: string;
}

const CRLF = Buffer.from("\r\n");
const HEADERS_END = Buffer.from("\r\n\r\n");

/** The "content" part of a multipart/form-data body; 400 naming what is wrong otherwise. */
export function formDataContent(body: Buffer, contentTypeHeader: string): FormFile {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentTypeHeader);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new ApiError(400, "multipart/form-data: the Content-Type has no boundary");
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos === -1) throw new ApiError(400, "multipart/form-data: no part in the body");
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body.subarray(pos, pos + 2).toString() === "--") break;
    if (!body.subarray(pos, pos + 2).equals(CRLF)) {
      throw new ApiError(400, "multipart/form-data: malformed part delimiter");
    }
    const headersEnd = body.indexOf(HEADERS_END, pos);
    if (headersEnd === -1)
      throw new ApiError(400, "multipart/form-data: a part has no headers end");
    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), headersEnd + 4);
    if (next === -1) throw new ApiError(400, "multipart/form-data: the body ends inside a part");
    const headers = partHeaders(body.subarray(pos + 2, headersEnd).toString("utf8"));
    const disposition = headers["content-disposition"] ?? "";
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === "content") {
      return {
        content: body.subarray(headersEnd + 4, next),
        ...(headers["content-type"] ? { contentType: headers["content-type"] } : {}),
      };
    }
    pos = next + CRLF.length;
  }
  throw new ApiError(400, 'multipart/form-data: no part named "content" (the file to upload)');
}

function partHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}
