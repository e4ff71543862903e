// A rival's write landing between a writer's read and its conditional write: the interleaving
// a race rarely hits, made certain. Works on any store with putIf (the S3 adapter, the fakes).
import type { GcObjectStore } from "../../lambdas/gc/ports";

type ConditionalWriter = Pick<GcObjectStore, "putIf">;

/** Makes `store`'s next conditional write first await `rival` (then behave as before). */
export function raceNextConditionalWrite<T extends ConditionalWriter>(
  store: T,
  rival: () => Promise<unknown>,
): T {
  const original = store.putIf.bind(store);
  store.putIf = async (bucket, key, body, condition, contentType) => {
    store.putIf = original;
    await rival();
    return original(bucket, key, body, condition, contentType);
  };
  return store;
}
