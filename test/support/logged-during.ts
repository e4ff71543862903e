// What the Lambdas' logger writes while a piece of code runs: stdout, and stderr for WARN and
// ERROR, captured at the INFO level a Lambda logs at (the test process's level is SILENT,
// vitest.config.ts).
import { vi } from "vitest";
import { logger } from "../../lambdas/shared/logger";

export async function loggedDuring(run: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  const level = logger.getLevelName();
  logger.setLogLevel("INFO");
  // Every invocation after a process's first sets the logger back to its level from the
  // environment (Powertools' debug sampling refresh): SILENT here. A test file sharing its
  // process with earlier ones would capture nothing; keep INFO for the capture.
  vi.spyOn(logger, "refreshSampleRateCalculation").mockImplementation(() => undefined);
  try {
    await run();
  } finally {
    logger.setLogLevel(level);
    vi.restoreAllMocks();
  }
  return written.join("");
}
