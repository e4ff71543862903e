// The single DynamoDB table holding Lakeport's configuration and state. The constants here are
// the one definition of the key schema: the CDK construct and the local/test table creation
// both read them, so the two can never drift apart.

export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
/** Epoch seconds after which DynamoDB's TTL sweeper may delete an item. */
export const TTL_ATTRIBUTE = "expiresAt";

/** GSI listing items of one kind across repositories (e.g. every export configuration). */
export const KIND_INDEX = {
  name: "byKind",
  partitionKey: "kind",
  sortKey: "kindSk",
} as const;

export type ItemKind =
  | "export-config"
  | "export-state"
  | "gc-rules"
  | "gc-run"
  | "gc-mark"
  | "gc-lease";

const repoPk = (repository: string) => `${REPO_PK_PREFIX}${repository}`;
/** The partition of every branch's export path claim (keys.exportPathClaim). */
export const EXPORT_PATHS_PK = "EXPORTPATHS";
/** The partition of every GC backup location's claim (keys.gcBackupLocation). */
export const GC_BACKUPS_PK = "GCBACKUPS";

/** Key builders. Repository ids and branch names never contain `#` (lakeFS forbids it). */
export const keys = {
  exportConfig: (repository: string, branch: string) => ({
    pk: repoPk(repository),
    sk: `EXPORT#${branch}#CONFIG`,
  }),
  exportState: (repository: string, branch: string) => ({
    pk: repoPk(repository),
    sk: `EXPORT#${branch}#STATE`,
  }),
  gcRules: (repository: string) => ({ pk: repoPk(repository), sk: "GC#RULES" }),
  /** Run ids sort by start time, so a descending query lists the newest first. */
  gcRun: (repository: string, runId: string) => ({
    pk: repoPk(repository),
    sk: `${GC_RUN_SK_PREFIX}${runId}`,
  }),
  gcMark: (repository: string, markId: string) => ({
    pk: repoPk(repository),
    sk: `GCMARK#${markId}`,
  }),
  /**
   * The one-GC-run-per-repository lease. Its own partition key prefix, so the GC steps'
   * IAM policy can allow renewing it (dynamodb:LeadingKeys) and nothing else.
   */
  gcLease: (repository: string) => ({ pk: `${GC_LEASE_PK_PREFIX}${repository}`, sk: "LEASE" }),
  /**
   * Counts of one export while it runs (plan totals, copy batches done). Its own partition
   * key prefix, so the plan and copy steps may update it (dynamodb:LeadingKeys) and nothing else.
   */
  exportProgress: (exportId: string) => ({
    pk: `${EXPORT_PROGRESS_PK_PREFIX}${exportId}`,
    sk: "PROGRESS",
  }),
  /** Its own partition key prefix, so the webhook function may write these items only. */
  webhookDelivery: (deliveryKey: string) => ({
    pk: `${WEBHOOK_PK_PREFIX}${deliveryKey}`,
    sk: "DELIVERY",
  }),
  /**
   * The export and status paths of one branch's export configuration, written with it. Every
   * branch's in one partition, so that one strongly consistent query reads them all (the kind
   * index lags writes, and two branches set at once must see each other's paths).
   */
  exportPathClaim: (repository: string, branch: string) => ({
    pk: EXPORT_PATHS_PK,
    sk: `${repository}#${branch}`,
  }),
  /**
   * A GC backup location a repository's backups were made to: every repository's in one
   * partition, read strongly consistently by export configuration changes (a full export
   * deletes whatever else is under its path) as claims are by backups.
   */
  gcBackupLocation: (repository: string, location: string) => ({
    pk: GC_BACKUPS_PK,
    sk: `${repository}#${location}`,
  }),
  repoPartition: repoPk,
};

/** The partition of one repository's configuration, runs and marks (keys.repoPartition). */
export const REPO_PK_PREFIX = "REPO#";
export const GC_RUN_SK_PREFIX = "GCRUN#";
export const GC_LEASE_PK_PREFIX = "GCLEASE#";
export const EXPORT_PROGRESS_PK_PREFIX = "EXPORTPROGRESS#";
export const WEBHOOK_PK_PREFIX = "WEBHOOK#";

/** Attribute definitions and key schema in the shape CreateTable (and CDK) expect. */
export const TABLE_ATTRIBUTES = [
  { AttributeName: PARTITION_KEY, AttributeType: "S" },
  { AttributeName: SORT_KEY, AttributeType: "S" },
  { AttributeName: KIND_INDEX.partitionKey, AttributeType: "S" },
  { AttributeName: KIND_INDEX.sortKey, AttributeType: "S" },
] as const;
