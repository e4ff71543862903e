// The export unit tests' common world: a continuous branch of repo/main whose export of c1
// (after c0) is running, on a clock counted in minutes.
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import type { ExportState } from "../../lambdas/export/domain/export-state";

export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const at = (minutes: number) => new Date(T0 + minutes * 60_000);
export const MACHINE = "arn:aws:states:us-east-1:0:stateMachine:export";
export const executionArnOf = (exportId: string) =>
  `${MACHINE.replace(":stateMachine:", ":execution:")}:${exportId}`;

/** repo/main exported continuously to s3://out/exp, configuration version 1. */
export function continuousConfig(): ExportConfig {
  return {
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: at(-60).toISOString(),
    configVersion: 1,
  };
}

/** The export repo-main-c1-2-x of c1 in progress (c0 exported before), with `overrides`. */
export function runningExportState(overrides: Partial<ExportState> = {}): ExportState {
  return {
    state: "in-progress",
    commitId: "c1",
    lastExportedCommit: "c0",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "incremental",
    exportId: "repo-main-c1-2-x",
    executionArn: executionArnOf("repo-main-c1-2-x"),
    updatedAt: at(-1).toISOString(),
    startedAt: at(-1).toISOString(),
    repaired: false,
    attempt: 2,
    version: 7,
    ...overrides,
  };
}
