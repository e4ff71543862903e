import { secondsOr } from "../../shared/env";
import { lambdaHandler } from "../../shared/lambda-handler";
import { type AddressStepEvent, runAddressStep } from "../app/addresses";
import { DEFAULT_MIN_OBJECT_AGE_SECONDS } from "../domain/min-object-age";
import { gcDepsFromEnv, gcKeysOf, TIME_MARGIN_MS } from "./deps";

export const handler = lambdaHandler({
  name: "GC addresses step",
  keys: gcKeysOf,
  run: async (event: AddressStepEvent, context) => {
    const remaining = context?.getRemainingTimeInMillis;
    return runAddressStep(gcDepsFromEnv(), event, {
      minObjectAgeSeconds: secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS),
      ...(remaining ? { outOfTime: () => remaining() < TIME_MARGIN_MS } : {}),
    });
  },
  summary: ({ items, done }) => ({ done, itemsLeft: items.length }),
});
