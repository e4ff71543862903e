// DeleteObjects (and DeleteObject) done by the proxy: s3rver 3.7.1 ignores Quiet, parses keys
// that look like numbers as numbers, and can fail when two deletes empty the same directory at
// once (and lists a directory after each delete). Here every key is answered on its own: Deleted (also for keys that did not exist, as S3
// does) or an Error element with Key, Code and Message.
import { S3_XMLNS, S3ErrorResponse, xmlEscape, xmlUnescape } from "./s3-error";
import type { StoreLayout } from "./store-layout";

export interface DeleteRequestBody {
  quiet: boolean;
  objects: { key: string; versionId?: string }[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export function parseDeleteBody(xml: string): DeleteRequestBody {
  const malformed = () =>
    new S3ErrorResponse(
      "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published schema",
    );
  if (!/<Delete[\s>]/.test(xml)) throw malformed();
  const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
  const objects: DeleteRequestBody["objects"] = [];
  for (const m of xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
    const body = m[1] ?? "";
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(body)?.[1];
    if (key === undefined) throw malformed();
    const versionId = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(body)?.[1];
    // XML 1.0 has no form for these characters, not even a character reference: S3 cannot
    // parse the document (a key holding one is deleted with DeleteObject, its key in the URI).
    if (XML_INVALID.test(xmlUnescape(key))) throw malformed();
    objects.push({
      key: xmlUnescape(key),
      ...(versionId !== undefined ? { versionId: xmlUnescape(versionId) } : {}),
    });
  }
  if (objects.length === 0 || objects.length > 1000) throw malformed();
  return { quiet, objects };
}

/** Deletes one object; a missing object is not an error. */
export async function deleteOneObject(
  layout: StoreLayout,
  bucket: string,
  key: string,
): Promise<void> {
  await layout.deleteObject(bucket, key);
}

export type KeyOutcome = { key: string; error?: { code: string; message: string } };

export function deleteResultXml(outcomes: KeyOutcome[], quiet: boolean): string {
  const parts = outcomes.map((o) =>
    o.error
      ? `<Error><Key>${xmlEscape(o.key)}</Key><Code>${o.error.code}</Code><Message>${xmlEscape(o.error.message)}</Message></Error>`
      : quiet
        ? ""
        : `<Deleted><Key>${xmlEscape(o.key)}</Key></Deleted>`,
  );
  return `<DeleteResult xmlns="${S3_XMLNS}">${parts.join("")}</DeleteResult>`;
}
