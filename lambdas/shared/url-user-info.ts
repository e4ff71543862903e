// Credentials written into a URL (https://user:password@host/): a lakeFS endpoint or a CLI
// endpoint given so would put the password in every message that names the URL (fetch's own
// error quotes it); such an endpoint is refused instead.

/** Whether a URL names a user or password before its host. */
export function hasUserInfo(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url);
}
