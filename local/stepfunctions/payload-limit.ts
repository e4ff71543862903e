// Step Functions' 256 KB limit on execution input, state input and output, and task parameters.
import { StatesError } from "./errors";
import type { Json } from "./paths";

export const PAYLOAD_LIMIT_BYTES = 262_144;

export function checkSize(value: Json, what: string): void {
  const size = Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
  if (size > PAYLOAD_LIMIT_BYTES) {
    throw new StatesError(
      "States.DataLimitExceeded",
      `The state/task ${what} of ${size} bytes exceeds the maximum size of ${PAYLOAD_LIMIT_BYTES} bytes`,
    );
  }
}
