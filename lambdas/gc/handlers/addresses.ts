import { type AddressStepEvent, runAddressStep } from "../app/addresses";
import { gcDepsFromEnv, type LambdaContextLike, TIME_MARGIN_MS } from "./deps";

export const handler = async (event: AddressStepEvent, context?: LambdaContextLike) => {
  const remaining = context?.getRemainingTimeInMillis;
  return runAddressStep(gcDepsFromEnv(), event, {
    ...(remaining ? { outOfTime: () => remaining() < TIME_MARGIN_MS } : {}),
  });
};
