// The one-GC-run-per-repository lease: how long it lasts without being renewed. Every GC
// step renews it when it starts (and the sweep before each delete request), and no step runs
// longer than 15 minutes (the Lambda limit), so a live run never lets it expire; a run that
// died without ending gives the repository back after this long.

export const DEFAULT_GC_LEASE_SECONDS = 1800;

/** GC_LEASE_SECONDS from a function's environment (tests shorten it), else the default. */
export function leaseSecondsFrom(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_GC_LEASE_SECONDS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`GC_LEASE_SECONDS: must be a whole number of seconds (got "${value}")`);
  }
  return n;
}

/** A run lost the repository's lease (it expired and another run took it): stop working. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}
