// S3's naming rules for the locations Lakeport writes to (export and status paths): general
// purpose bucket names as S3 accepts them, and key prefixes without segments that tools read
// differently (`.`, `..`, empty) or characters a URI gives another meaning (`?`, `#`). Pure:
// each check answers what is wrong, in words that follow the field name, or undefined.
import { hasLoneSurrogate } from "./unicode";

const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
/** Room for at least `prefix/x` within S3's 1024-byte key limit. */
const MAX_PREFIX_BYTES = 1022;

/** Why `name` is not a valid general purpose bucket name, or undefined. */
export function bucketNameProblem(name: string): string | undefined {
  const b = JSON.stringify(name);
  if (name.length < 3 || name.length > 63) return `bucket ${b} must be 3 to 63 characters long`;
  if (!/^[a-z0-9.-]+$/.test(name)) {
    return `bucket ${b} may only hold lowercase letters, digits, dots and hyphens`;
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return `bucket ${b} must begin and end with a letter or digit`;
  }
  if (name.includes("..")) return `bucket ${b} must not contain two adjacent dots`;
  if (IP_ADDRESS.test(name)) return `bucket ${b} must not be formatted as an IP address`;
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `bucket ${b} must not begin with the reserved prefix ${prefix}`;
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `bucket ${b} must not end with the reserved suffix ${suffix}`;
  return undefined;
}

/**
 * Why `uri` is not a location Lakeport may write under (`s3://bucket[/prefix][/]`), or
 * undefined. Trailing slashes are allowed (they are dropped by `normalizeS3Location`).
 */
export function writableLocationProblem(uri: string): string | undefined {
  if (!uri.startsWith("s3://")) return "must be s3://bucket[/prefix]";
  if (/[?#]/.test(uri)) return "must not contain ? or # (S3 locations have no query or fragment)";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(uri)) return "must not contain control characters";
  const body = uri.slice("s3://".length);
  const slash = body.indexOf("/");
  const bucket = slash === -1 ? body : body.slice(0, slash);
  if (bucket === "") return "must be s3://bucket[/prefix]";
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) return bucketProblem;
  const prefix = slash === -1 ? "" : body.slice(slash + 1).replace(/\/+$/, "");
  if (prefix === "") return undefined;
  // A lone surrogate has no UTF-8 form: the SDK would write U+FFFD, another key.
  if (hasLoneSurrogate(prefix)) return "must be well-formed Unicode (S3 keys are UTF-8)";
  // What decoding made of bytes that were not UTF-8 where the path was typed (a Latin-1 shell,
  // a request body): the key meant is lost, and another one would be written.
  if (prefix.includes("\uFFFD")) {
    return "must not contain U+FFFD, the replacement character (bytes that were not UTF-8 where it was typed)";
  }
  const bytes = Buffer.byteLength(prefix);
  if (bytes > MAX_PREFIX_BYTES) {
    return `key prefix must be at most ${MAX_PREFIX_BYTES} bytes (S3 keys are at most 1024 bytes and an object's is prefix/name; got ${bytes})`;
  }
  for (const segment of prefix.split("/")) {
    if (segment === "") return "must not contain an empty path segment";
    if (segment === "." || segment === "..") return "must not contain . or .. path segments";
    // Pasted or padded values: tools and shells trim them, so the objects would be lost.
    if (/^\s|\s$/.test(segment)) {
      return `path segment ${JSON.stringify(segment)} must not begin or end with white space`;
    }
  }
  return undefined;
}

/** `s3://bucket/prefix` without trailing slashes (the form configurations are stored in). */
export function normalizeS3Location(uri: string): string {
  return uri.replace(/\/+$/, "");
}

/** The bucket of an `s3://bucket[/prefix]` location. */
export function bucketOfLocation(uri: string): string {
  const body = uri.slice("s3://".length);
  const slash = body.indexOf("/");
  return slash === -1 ? body : body.slice(0, slash);
}

/** Whether one of two normalized locations contains the other (or they are equal). */
export function locationsOverlap(a: string, b: string): boolean {
  const x = normalizeS3Location(a);
  const y = normalizeS3Location(b);
  return x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}
