import { handleExecutionStatusChange } from "../app/finish-export";
import { startDepsFromEnv } from "./deps";

export const handler = async (event: { detail?: unknown }) => {
  const out = await handleExecutionStatusChange(await startDepsFromEnv(), event);
  console.log(JSON.stringify({ watchdog: out }));
  return out;
};
