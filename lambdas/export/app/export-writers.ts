// The writer records of an export (domain/writers.ts) on the object store: a copy batch or the
// markers step registers before writing to the export path and records its end; the status
// step closes the export to new writers and asks which are still running.
import { randomUUID } from "node:crypto";
import { exportWorkKeys } from "../domain/work-layout";
import {
  type WriterKind,
  type WritersInFlight,
  writerEndedKey,
  writerIdOf,
  writerStartedKey,
  writersInFlight,
} from "../domain/writers";
import type { ExportObjectStore } from "../ports";

export interface WriterDeps {
  store: ExportObjectStore;
  workBucket: string;
  now?: () => Date;
}

export interface RegisteredWriter {
  /** Records the writer's end: called once it will write nothing more. */
  end(): Promise<void>;
}

/**
 * Registers a writer of export `exportId`; "closed" when the export has ended (its status step
 * ran): the caller is a late attempt and must not write.
 */
export async function registerWriter(
  deps: WriterDeps,
  exportId: string,
  kind: WriterKind,
): Promise<RegisteredWriter | "closed"> {
  const keys = exportWorkKeys(exportId);
  const startedAt = (deps.now ?? (() => new Date()))();
  const id = writerIdOf(kind, startedAt, randomUUID().replaceAll("-", ""));
  const record = JSON.stringify({ kind, startedAt: startedAt.toISOString() });
  await deps.store.put(deps.workBucket, writerStartedKey(keys.writersPrefix, id), record);
  const end = () => deps.store.put(deps.workBucket, writerEndedKey(keys.writersPrefix, id), record);
  // Read after the record is written: a status step that closed the export before this read
  // is seen here; one closing it after lists the record.
  if ((await deps.store.getText(deps.workBucket, keys.writersClosed)) !== undefined) {
    await end();
    return "closed";
  }
  return { end };
}

/** Runs `write` as a registered writer; undefined without running it when the export ended. */
export async function asWriter<T>(
  deps: WriterDeps,
  exportId: string,
  kind: WriterKind,
  write: () => Promise<T>,
): Promise<T | undefined> {
  const writer = await registerWriter(deps, exportId, kind);
  if (writer === "closed") return undefined;
  try {
    return await write();
  } finally {
    // Not recorded (S3 failing): the status step waits until the writer's timeout instead.
    await writer.end().catch(() => undefined);
  }
}

/** Closes export `exportId` to new writers, then lists those still running. */
export async function closeWriters(deps: WriterDeps, exportId: string): Promise<WritersInFlight> {
  const keys = exportWorkKeys(exportId);
  await deps.store.put(
    deps.workBucket,
    keys.writersClosed,
    JSON.stringify({ closedAt: (deps.now ?? (() => new Date()))().toISOString() }),
  );
  return runningWriters(deps, exportId);
}

/** The writers of export `exportId` still running (its status step closed it already). */
export function runningWriters(deps: WriterDeps, exportId: string): Promise<WritersInFlight> {
  const keys = exportWorkKeys(exportId);
  return writersInFlight(
    deps.store.listKeys(deps.workBucket, keys.writersPrefix),
    keys.writersPrefix,
    (deps.now ?? (() => new Date()))(),
  );
}
