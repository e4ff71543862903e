// The export and status paths every branch's export configuration takes, read where something
// else must stay out of them: another branch's export, a GC backup (a full export deletes
// whatever else is under its export path). Shared by the export capability, which writes them,
// and the GC copy plan, which checks a backup location against them.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { queryPages, withoutKeys } from "./document-client";
import { EXPORT_PATHS_PK, KIND_INDEX } from "./table";

/** The paths one branch's export configuration takes (keys.exportPathClaim). */
export interface ExportPathClaim {
  repository: string;
  branch: string;
  exportPath: string;
  exportStatusPath?: string;
}

/**
 * Every branch's path claim, read strongly consistently (one partition), a page at a time: a
 * configuration stored just before is never missing. Configurations stored before path claims
 * existed have none (listExportConfigPaths has them).
 */
export async function* listExportPathClaims(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pageSize = 500,
): AsyncIterable<ExportPathClaim[]> {
  const pages = queryPages(doc, {
    TableName: tableName,
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": EXPORT_PATHS_PK },
    ConsistentRead: true,
    Limit: pageSize,
  });
  for await (const items of pages) yield items.map((i) => withoutKeys<ExportPathClaim>(i));
}

/** The paths of every stored export configuration, through the kind index (which lags writes). */
export async function* listExportConfigPaths(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pageSize = 100,
): AsyncIterable<ExportPathClaim[]> {
  const pages = queryPages(doc, {
    TableName: tableName,
    IndexName: KIND_INDEX.name,
    KeyConditionExpression: "#k = :k",
    ExpressionAttributeNames: { "#k": KIND_INDEX.partitionKey },
    ExpressionAttributeValues: { ":k": "export-config" },
    Limit: pageSize,
  });
  for await (const items of pages) {
    yield items.map((i) => ({
      repository: String(i.repository),
      branch: String(i.branch),
      exportPath: String(i.exportPath),
      ...(typeof i.exportStatusPath === "string" ? { exportStatusPath: i.exportStatusPath } : {}),
    }));
  }
}

/** Both: the claims first (consistent), then the configurations (also those without claims). */
export async function* listAllExportPaths(
  doc: DynamoDBDocumentClient,
  tableName: string,
): AsyncIterable<ExportPathClaim[]> {
  yield* listExportPathClaims(doc, tableName);
  yield* listExportConfigPaths(doc, tableName);
}
