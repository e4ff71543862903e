// A backup keeps, per part of the mark's list, the keys it found absent (swept before it), in
// the location beside its record. A restore then tells the two kinds of object the location
// lacks apart, one by one: absent at the backup (nothing to restore), or saved by the backup
// and lost since. Counts alone could not: an absent object another mark's restore brought
// back into the namespace stops counting as absent, and so hid one object the location lost.

/** The folder of the absent lists under the location: never a key GC copies (copy-address.ts). */
export const BACKUP_ABSENT_DIR = "_lakeport_backup_absent";

/** The absent list of one part of the mark's list (part-00003.txt for part 3). */
export function absentListKey(locationPrefix: string, part: number): string {
  const name = `${BACKUP_ABSENT_DIR}/part-${String(part).padStart(5, "0")}.txt`;
  return locationPrefix === "" ? name : `${locationPrefix}/${name}`;
}

export function encodeAbsentList(keys: readonly string[]): string {
  return keys.map((k) => `${k}\n`).join("");
}

export function parseAbsentList(text: string): Set<string> {
  return new Set(text.split("\n").filter((l) => l.length > 0));
}

/** What a restore of one part found the location lacking and the namespace not holding. */
export interface PartShortfall {
  /** Of those, keys the backup did not find absent: saved by it, lost since. */
  lost: string[];
  /** The part's absent list is not in the location (it cannot tell; see restoreShortfall). */
  listMissing: boolean;
}

/**
 * The restore's missing objects against the backup's absent list of the part (undefined: the
 * list is not in the location).
 */
export function partShortfall(
  missing: readonly string[],
  backupAbsent: ReadonlySet<string> | undefined,
): PartShortfall {
  if (!backupAbsent) return { lost: [], listMissing: true };
  return { lost: missing.filter((k) => !backupAbsent.has(k)), listMissing: false };
}
