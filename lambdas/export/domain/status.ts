// What an export reports under exportStatusPath, written last (after the markers):
// - `<REPO>-<BRANCH>-<COMMIT>`: exactly one line, `status: <STATUS>, signalled_errors: <N>`
//   followed by "\n" (as lakeFS writes it: fmt.Sprintf("status: %s, signalled_errors: %d\n"));
// - `<REPO>-<BRANCH>-<COMMIT>.status.json`: the JSON status document;
// - `<REPO>-<BRANCH>-<COMMIT>.manifest.json` + parts `<...>.manifest/part-<HASH>.jsonl` (this
//   commit's, or shared with an earlier export of the branch): the manifest (see manifest.ts);
// - `<REPO>-<BRANCH>-<COMMIT>.manifest.batch-operations.json` + a `part-<HASH>.csv.gz` beside
//   each JSON Lines part: the same objects as an S3 Batch Operations manifest in the S3
//   Inventory format (see batch-operations-manifest.ts).
// Which status: any failed operation (or a fatal error) -> export-failed; otherwise
// export-repaired for the first successful export after a repair, else exported-successfully.
import { joinKey } from "../../shared/s3-uri";
import { csvFileKeyOf } from "./batch-operations-manifest";
import { EXPORT_STATUSES, type ExportMode, type ExportStatus } from "./export-state";
import { PART_CONTENT_ID_LENGTH } from "./manifest";

export function statusFileName(repository: string, branch: string, commitId: string): string {
  return `${repository}-${branch}-${commitId}`;
}

export interface StatusKeys {
  /** The status line file. */
  statusLine: string;
  statusDocument: string;
  manifestIndex: string;
  /** The S3 Batch Operations manifest.json (S3 Inventory format). */
  batchOperationsManifest: string;
  /** Prefix of the manifest parts (ends with '/'). */
  manifestPartsPrefix: string;
  /** Key of a new manifest part from its content id. */
  manifestPart(contentId: string): string;
}

/** Keys under the status prefix (the prefix of exportStatusPath) for one exported commit. */
export function statusKeys(
  statusPrefix: string,
  repository: string,
  branch: string,
  commitId: string,
): StatusKeys {
  const base = joinKey(statusPrefix, statusFileName(repository, branch, commitId));
  return {
    statusLine: base,
    statusDocument: `${base}.status.json`,
    manifestIndex: `${base}.manifest.json`,
    batchOperationsManifest: `${base}.manifest.batch-operations.json`,
    manifestPartsPrefix: `${base}.manifest/`,
    manifestPart: (id) => `${base}.manifest/part-${id}.jsonl`,
  };
}

/** S3's longest key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;
/** lakeFS commit ids: 64 hex characters (SHA-256). */
const COMMIT_ID_LENGTH = 64;

/**
 * The longest key, in UTF-8 bytes, of the status files a branch's exports write under
 * `statusPrefix` (status line and document, manifest index and parts, their CSV twins and the
 * Batch Operations manifest): over S3's 1 024, every export of the branch fails.
 */
export function longestStatusKeyBytes(
  statusPrefix: string,
  repository: string,
  branch: string,
): number {
  const sk = statusKeys(statusPrefix, repository, branch, "0".repeat(COMMIT_ID_LENGTH));
  const part = sk.manifestPart("0".repeat(PART_CONTENT_ID_LENGTH));
  const keys = [
    sk.statusLine,
    sk.statusDocument,
    sk.manifestIndex,
    sk.batchOperationsManifest,
    part,
    csvFileKeyOf(part),
  ];
  return Math.max(...keys.map((k) => utf8.encode(k).length));
}

const utf8 = new TextEncoder();

export function formatStatusLine(status: ExportStatus, signalledErrors: number): string {
  if (!Number.isInteger(signalledErrors) || signalledErrors < 0) {
    throw new RangeError(
      `signalled_errors: expected a non-negative integer, got ${signalledErrors}`,
    );
  }
  return `status: ${status}, signalled_errors: ${signalledErrors}\n`;
}

const STATUS_LINE_RE = /^status: ([a-z-]+), signalled_errors: (\d+)\n?$/;

/** Reads a status line file (for tests, the CLI and the demo). */
export function parseStatusLine(text: string): { status: ExportStatus; signalledErrors: number } {
  const m = STATUS_LINE_RE.exec(text);
  const status = m?.[1] as ExportStatus | undefined;
  if (!m || !status || !EXPORT_STATUSES.includes(status)) {
    throw new Error(`not a status line: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { status, signalledErrors: Number(m[2]) };
}

export interface StatusDecisionInput {
  /** Copies, deletes and marker writes that failed. */
  failedOperations: number;
  /** An error that ended the export early (planning failed, bad configuration...). */
  fatalError?: string;
  /** The export was started by a repair. */
  repaired: boolean;
}

/** signalled_errors counts the failed operations, plus one for a fatal error. */
export function decideExportStatus(input: StatusDecisionInput): {
  status: ExportStatus;
  signalledErrors: number;
} {
  const signalledErrors = input.failedOperations + (input.fatalError ? 1 : 0);
  if (signalledErrors > 0) return { status: "export-failed", signalledErrors };
  return {
    status: input.repaired ? "export-repaired" : "exported-successfully",
    signalledErrors: 0,
  };
}

export interface ExportCounts {
  copied: number;
  deleted: number;
  failed: number;
  markers: number;
  /** Markers deleted because their directory no longer holds objects. */
  markersRemoved?: number;
  copiedBytes: number;
}

export interface OperationError {
  path: string;
  code: string;
  message: string;
}

export interface ExportStatusDocument {
  version: 1;
  repository: string;
  branch: string;
  exportId: string;
  commitId: string;
  /** The last exported commit before this export; null before the first success. */
  fromCommit: string | null;
  /** How the export was planned (incremental, full-copy, full-compare). */
  mode?: ExportMode;
  /** The configuration version exported. */
  configVersion?: number;
  /** Null when lakeFS could not be read as the status was written (`commitUnavailable` says why). */
  commit: {
    message: string;
    committer: string;
    /** ISO-8601. */
    creationDate: string;
    metadata: Record<string, string>;
  } | null;
  /** Why `commit` is null. */
  commitUnavailable?: string;
  status: ExportStatus;
  signalledErrors: number;
  /** ISO-8601. */
  startedAt: string;
  finishedAt: string;
  counts: ExportCounts;
  /** The fatal error, when there was one. */
  errorMessage?: string;
  /** At most MAX_ERRORS_IN_STATUS failed operations (signalledErrors has the total). */
  errors: OperationError[];
  /** Key of the manifest index, when it was written. */
  manifest?: string;
  /** Key of the S3 Batch Operations CSV manifest, when it was written. */
  batchOperationsManifest?: string;
}

export const MAX_ERRORS_IN_STATUS = 100;

/** The exported commit as lakeFS describes it. */
export interface CommitDescription {
  id: string;
  message: string;
  committer: string;
  /** Unix epoch seconds, as lakeFS gives it. */
  creation_date: number;
  metadata?: Record<string, string>;
}

/**
 * The commit for the status document, or why lakeFS could not describe it: the document then
 * says so rather than state an empty message and a 1970 date a job would take for the commit's.
 */
export type StatusCommit = CommitDescription | { id: string; unavailable: string };

export function isCommitDescription(commit: StatusCommit): commit is CommitDescription {
  return !("unavailable" in commit);
}

export interface StatusDocumentInput {
  repository: string;
  branch: string;
  exportId: string;
  fromCommit: string | null;
  mode?: ExportMode;
  configVersion?: number;
  commit: StatusCommit;
  repaired: boolean;
  startedAt: Date;
  finishedAt: Date;
  counts: ExportCounts;
  fatalError?: string;
  errors: readonly OperationError[];
  manifestKey?: string;
  batchOperationsManifestKey?: string;
}

export function buildStatusDocument(input: StatusDocumentInput): ExportStatusDocument {
  const { status, signalledErrors } = decideExportStatus({
    failedOperations: input.counts.failed,
    fatalError: input.fatalError,
    repaired: input.repaired,
  });
  return {
    version: 1,
    repository: input.repository,
    branch: input.branch,
    exportId: input.exportId,
    commitId: input.commit.id,
    fromCommit: input.fromCommit,
    ...(input.mode ? { mode: input.mode } : {}),
    ...(input.configVersion !== undefined ? { configVersion: input.configVersion } : {}),
    ...documentCommit(input.commit),
    status,
    signalledErrors,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    counts: { ...input.counts },
    ...(input.fatalError ? { errorMessage: input.fatalError } : {}),
    errors: input.errors.slice(0, MAX_ERRORS_IN_STATUS).map((e) => ({ ...e })),
    ...(input.manifestKey ? { manifest: input.manifestKey } : {}),
    ...(input.batchOperationsManifestKey
      ? { batchOperationsManifest: input.batchOperationsManifestKey }
      : {}),
  };
}

function documentCommit(
  commit: StatusCommit,
): Pick<ExportStatusDocument, "commit" | "commitUnavailable"> {
  if (!isCommitDescription(commit)) return { commit: null, commitUnavailable: commit.unavailable };
  return {
    commit: {
      message: commit.message,
      committer: commit.committer,
      creationDate: new Date(commit.creation_date * 1000).toISOString(),
      metadata: commit.metadata ?? {},
    },
  };
}
