// Credentials written into a URL (https://user:password@host/): a lakeFS endpoint or a CLI
// endpoint given so would put the password in every message that names the URL (fetch's own
// error quotes it); such an endpoint is refused instead.

/**
 * Whether a URL names a user or password before its host: as written (`scheme://u:p@host`), or
 * as fetch's URL parser reads it (`http:u:p@host`, `http:///u:p@host`, `http:\\u:p@host`, a
 * leading space: each is `http://u:p@host` to it).
 */
export function hasUserInfo(url: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url)) return true;
  try {
    const parsed = new URL(url);
    return parsed.username !== "" || parsed.password !== "";
  } catch {
    return false;
  }
}
