// Distributed Map inputs: ItemReader (S3 JSON, JSON Lines, CSV, listObjectsV2) and ItemBatcher.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { StatesError } from "./errors";
import type { Json } from "./paths";

const readerFailed = (cause: string) => new StatesError("States.ItemReaderFailed", cause);

export interface ReaderConfig {
  InputType?: "JSON" | "JSONL" | "CSV";
  CSVHeaderLocation?: "FIRST_ROW" | "GIVEN";
  CSVHeaders?: string[];
  CSVDelimiter?: string;
  MaxItems?: number;
}

export async function readItems(
  s3: S3Client | undefined,
  resource: string,
  params: Record<string, Json>,
  cfg: ReaderConfig,
): Promise<Json[]> {
  if (!s3) throw readerFailed("The local runner has no S3 client configured");
  const max = cfg.MaxItems ?? Number.POSITIVE_INFINITY;
  if (resource.endsWith("listObjectsV2")) {
    const items: Json[] = [];
    let token: string | undefined;
    do {
      const out = await s3
        .send(
          new ListObjectsV2Command({ ...(params as object), ContinuationToken: token } as never),
        )
        .catch((e: Error) => {
          throw readerFailed(`listObjectsV2 failed: ${e.name}: ${e.message}`);
        });
      for (const o of out.Contents ?? []) {
        if (items.length >= max) break;
        items.push({
          Etag: o.ETag ?? "",
          Key: o.Key ?? "",
          LastModified: o.LastModified ? Math.floor(o.LastModified.getTime() / 1000) : 0,
          Size: o.Size ?? 0,
          StorageClass: o.StorageClass ?? "STANDARD",
        });
      }
      token = out.IsTruncated && items.length < max ? out.NextContinuationToken : undefined;
    } while (token);
    return items;
  }
  const out = await s3.send(new GetObjectCommand(params as never)).catch((e: Error) => {
    throw readerFailed(
      `getObject ${String(params.Bucket)}/${String(params.Key)} failed: ${e.name}: ${e.message}`,
    );
  });
  const text = (await out.Body?.transformToString("utf8")) ?? "";
  let items: Json[];
  if (cfg.InputType === "JSON") {
    let doc: Json;
    try {
      doc = JSON.parse(text) as Json;
    } catch {
      throw readerFailed("The S3 object is not valid JSON");
    }
    if (!Array.isArray(doc)) throw readerFailed("A JSON ItemReader object must hold a JSON array");
    items = doc;
  } else if (cfg.InputType === "JSONL") {
    items = [];
    for (const [n, line] of text.split(/\r?\n/).entries()) {
      if (line.trim() === "") continue;
      try {
        items.push(JSON.parse(line) as Json);
      } catch {
        throw readerFailed(`Line ${n + 1} of the JSONL object is not valid JSON`);
      }
      if (items.length >= max) break;
    }
  } else {
    items = parseCsvItems(text, cfg);
  }
  return items.slice(0, max);
}

const DELIMITERS: Record<string, string> = {
  COMMA: ",",
  PIPE: "|",
  SEMICOLON: ";",
  SPACE: " ",
  TAB: "\t",
};

export function parseCsv(text: string, delimiter = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
    i++;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

function parseCsvItems(text: string, cfg: ReaderConfig): Json[] {
  const rows = parseCsv(text, DELIMITERS[cfg.CSVDelimiter ?? "COMMA"] ?? ",");
  let headers: string[];
  if (cfg.CSVHeaderLocation === "GIVEN") headers = cfg.CSVHeaders ?? [];
  else {
    const first = rows.shift();
    if (!first) return [];
    headers = first;
  }
  return rows.map((r, n) => {
    if (r.length > headers.length)
      throw readerFailed(`CSV row ${n + 1} has more fields than headers`);
    const item: Record<string, string> = {};
    headers.forEach((h, k) => {
      item[h] = r[k] ?? "";
    });
    return item;
  });
}

export interface BatcherConfig {
  maxItems?: number;
  maxBytes?: number;
  batchInput?: Json;
}

const bytes = (v: Json) => Buffer.byteLength(JSON.stringify(v), "utf8");

/** Groups items into child inputs of the shape {"Items": [...], "BatchInput": {...}}. */
export function batchItems(items: Json[], cfg: BatcherConfig): Json[] {
  const batches: Json[] = [];
  const shape = (xs: Json[]): Json =>
    cfg.batchInput !== undefined ? { Items: xs, BatchInput: cfg.batchInput } : { Items: xs };
  let cur: Json[] = [];
  for (const item of items) {
    const tooMany = cfg.maxItems !== undefined && cur.length >= cfg.maxItems;
    const tooBig =
      cfg.maxBytes !== undefined && cur.length > 0 && bytes(shape([...cur, item])) > cfg.maxBytes;
    if (tooMany || tooBig) {
      batches.push(shape(cur));
      cur = [];
    }
    if (cfg.maxBytes !== undefined && bytes(shape([item])) > cfg.maxBytes) {
      throw new StatesError(
        "States.Runtime",
        `An item of ${bytes(item)} bytes exceeds MaxInputBytesPerBatch (${cfg.maxBytes})`,
      );
    }
    cur.push(item);
  }
  if (cur.length > 0) batches.push(shape(cur));
  return batches;
}
