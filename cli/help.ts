// The exit codes and the examples `lakeport --help` (and `export --help`, `gc --help`) show.

export const EXIT = { ok: 0, usage: 2, api: 3, runFailed: 4 } as const;

const EXIT_CODES = `
Exit codes:
  0  ok
  2  usage error (unknown command or option, bad lakefs:// URI, missing file)
  3  API error (the answer's status and message are printed)
  4  the export or GC run failed (or --wait saw its execution end unrecorded)`;

const URIS = `
Branches are lakefs://REPO/BRANCH (as lakectl) or lakefs://REPO@BRANCH; repositories lakefs://REPO.`;

export const EXPORT_HELP = `
Examples:
  $ lakeport export set lakefs://example/main --path s3://bucket/latest --status-path s3://bucket/status \\
      --prefix-regex '.*/2021-\\d\\d-\\d\\d/' --continuous
  $ lakeport export set lakefs://example/main --path s3://bucket/latest --continuous=false --wait
  $ lakeport export run lakefs://example/main --wait
  $ lakeport export status lakefs://example@main --json
  $ lakeport export repair lakefs://example/main --full
  $ lakeport export delete lakefs://example/main     # once no export runs; the path stays
--wait draws one progress line on a terminal (objects and bytes done/total, rate, ETA) and
prints one line a minute otherwise; the end state follows with its counts.
${URIS}
${EXIT_CODES}`;

export const GC_HELP = `
Examples:
  $ lakeport gc set-config lakefs://example -f rules.json
  $ lakeport gc get-config lakefs://example          # readable; -p/--json for JSON
  $ lakeport gc run lakefs://example --wait
  $ lakeport gc run lakefs://example --mark-only --mark-id m1
  $ lakeport gc backup lakefs://example --mark-id m1 --to s3://backups/example/m1
  $ lakeport gc run lakefs://example --sweep-only --mark-id m1 --wait
  $ lakeport gc restore lakefs://example --mark-id m1 --from s3://backups/example/m1
  $ lakeport gc backup-locations lakefs://example   # kept out of every export path
  $ lakeport gc backup-locations lakefs://example --release s3://backups/example/m1
  $ lakeport gc status lakefs://example RUN_ID --wait
${URIS}
${EXIT_CODES}`;

export const PROGRAM_HELP = `
Examples:
  $ lakeport export set lakefs://example/main --path s3://bucket/latest --continuous
  $ lakeport export run lakefs://example/main --wait
  $ lakeport gc run lakefs://example --wait
  $ lakeport --version
The endpoint is --endpoint, else LAKEPORT_ENDPOINT, else .local/endpoints.json; requests are
SigV4-signed with the AWS credential chain (or the credentials of .local/endpoints.json).
${URIS}
${EXIT_CODES}`;
