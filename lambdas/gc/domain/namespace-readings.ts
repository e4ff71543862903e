// lakeFS reads a repository's storage namespace as a URL (Go's url.ParseRequestURI, in
// pkg/block): percent-escapes are decoded, a query, fragment or user info dropped, and one
// trailing slash. So `s3://lake/repos/caf%C3%A9`, `s3://lake/repos/café?x` and
// `s3://admin@lake/repos/café` all keep their objects under `repos/café/`, while Lakeport
// compares namespaces as written. GC therefore refuses a repository whose own namespace is
// not written as lakeFS reads it, and compares another repository's namespace with every way
// lakeFS may read it (more matches only refuse or protect more, never delete more).

/** Why `storageNamespace` is not written as lakeFS reads it, or undefined when it is. */
export function namespaceSpellingProblem(storageNamespace: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(.*)$/i.exec(storageNamespace);
  if (!m) return "it is not a URI like s3://bucket/prefix";
  const [, scheme, authority, path] = m as unknown as [string, string, string, string];
  if (scheme !== "s3") return "GC supports s3:// storage namespaces only";
  if (authority.includes("@")) return "it has user info (lakeFS drops the part before '@')";
  if (/[%?#]/.test(authority + path)) {
    return "it has '%', '?' or '#' (lakeFS decodes escapes and drops a query or fragment)";
  }
  if (/\/\/+$/.test(path)) return "it ends with more than one '/' (lakeFS drops only one)";
  return undefined;
}

/**
 * Every namespace lakeFS may resolve `storageNamespace` to, each without trailing slashes,
 * the namespace as written first.
 */
export function namespaceReadings(storageNamespace: string): string[] {
  const trim = (s: string) => s.replace(/\/+$/, "");
  const out = new Set([trim(storageNamespace)]);
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/i.exec(storageNamespace);
  if (m) {
    const [, scheme, authority, path] = m as unknown as [string, string, string, string];
    const base = `${scheme.toLowerCase()}://${authority.replace(/^.*@/, "")}`;
    out.add(trim(`${base}${path}`));
    try {
      out.add(trim(`${base}${decodeURIComponent(path)}`));
    } catch {
      // Not valid escapes: lakeFS refuses such a namespace, so it holds no objects.
    }
  }
  return [...out];
}
