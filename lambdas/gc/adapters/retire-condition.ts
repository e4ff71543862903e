// The condition a mark's retire is written on (GcStore.retireMark): a mark a dead run
// was sweeping is retired only if that run still holds its sweep; any other only if no sweep
// runs, and (`settledBefore` given) only if its last sweep ended before that time
// (restore-after-sweep.ts). Values go with the expression (DynamoDB refuses unused ones).
export function retireCondition(
  staleSweep: string | undefined,
  settledBefore: string | undefined,
): { expression: string; values: Record<string, string> } {
  if (staleSweep) {
    return {
      expression: "attribute_exists(pk) AND sweepRunId = :stale AND sweepStatus = :running",
      values: { ":stale": staleSweep, ":running": "running" },
    };
  }
  const idle =
    "attribute_exists(pk) AND (attribute_not_exists(sweepStatus) OR sweepStatus <> :running)";
  if (!settledBefore) return { expression: idle, values: { ":running": "running" } };
  return {
    expression: `${idle} AND (attribute_not_exists(sweptAt) OR sweptAt < :settled)`,
    values: { ":running": "running", ":settled": settledBefore },
  };
}
