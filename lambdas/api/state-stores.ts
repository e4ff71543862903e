import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ExportStore } from "../export/adapters/export-store";
import { DynamoExportProgressStore } from "../export/adapters/progress-store";
import { BackupLocationStore } from "../gc/adapters/backup-location-store";
import { GcStore } from "../gc/adapters/gc-store";
import { documentClient } from "../shared/dynamodb/document-client";
import { WebhookDeliveryStore } from "./webhook-store";

export interface StateStores {
  exports: ExportStore;
  exportProgress: DynamoExportProgressStore;
  gc: GcStore;
  backupLocations: BackupLocationStore;
  webhooks: WebhookDeliveryStore;
}

export function createStateStores(ddb: DynamoDBClient, tableName: string): StateStores {
  const doc = documentClient(ddb);
  return {
    exports: new ExportStore(doc, tableName),
    exportProgress: new DynamoExportProgressStore(doc, tableName),
    gc: new GcStore(doc, tableName),
    backupLocations: new BackupLocationStore(doc, tableName),
    webhooks: new WebhookDeliveryStore(doc, tableName),
  };
}
