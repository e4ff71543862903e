// The peer a user would run instead of Lakeport: `rclone sync lakefs:<repo>/<branch>/
// s3:<export>/` through lakeFS's S3 gateway (lakeFS's documented way to export without Spark),
// against the same embedded S3 and lakeFS development server, counted by the same counters.
// rclone is Debian's package; installed here when missing.
import { execFile, execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { LOCAL_S3_CREDENTIALS } from "../local/s3/credentials";
import { BENCH_REGION, type BenchEnv, LAKEFS_KEYS } from "./env";

/** Flags a user copying many small objects would pass (documented with the results). */
export const RCLONE_FLAGS = [
  "--fast-list",
  "--transfers",
  "32",
  "--checkers",
  "32",
  // Compare by the listings' MD5 ETags: without it rclone reads every destination object's
  // stored modification time with one HeadObject each.
  "--checksum",
  // lakeFS configuration, not data (Lakeport never exports it either).
  "--exclude",
  "_lakefs_actions/**",
];

export interface RcloneRun {
  seconds: number;
  /** Bytes rclone moved through itself (read from the gateway, written to S3). */
  bytesTransferred: number;
  transfers: number;
  deletes: number;
  checks: number;
}

/** The rclone binary, installing Debian's package when it is missing; undefined if impossible. */
export function ensureRclone(log: (m: string) => void): string | undefined {
  const which = () => {
    try {
      return execFileSync("which", ["rclone"], { encoding: "utf8" }).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const found = which();
  if (found) return found;
  log("rclone is missing: installing Debian's package");
  try {
    execFileSync("apt-get", ["install", "-y", "-qq", "rclone"], { stdio: "ignore" });
  } catch {
    try {
      execFileSync("sh", ["-c", "apt-get update -qq && apt-get install -y -qq rclone"], {
        stdio: "ignore",
      });
    } catch (err) {
      log(`could not install rclone: ${(err as Error).message}`);
    }
  }
  return which();
}

/** rclone.conf with two remotes: `lakefs` (the S3 gateway) and `s3` (the embedded S3). */
export async function writeRcloneConfig(env: BenchEnv): Promise<string> {
  const file = path.join(env.dir, "rclone.conf");
  const remote = (
    name: string,
    endpoint: string,
    key: { accessKeyId: string; secretAccessKey: string },
  ) =>
    [
      `[${name}]`,
      "type = s3",
      "provider = Other",
      `endpoint = ${endpoint}`,
      `access_key_id = ${key.accessKeyId}`,
      `secret_access_key = ${key.secretAccessKey}`,
      `region = ${BENCH_REGION}`,
      "force_path_style = true",
      "no_check_bucket = true",
      "list_version = 2",
      "",
    ].join("\n");
  await writeFile(
    file,
    remote("lakefs", env.lakefsServer.endpoint, LAKEFS_KEYS) +
      remote("s3", env.s3Server.endpoint, LOCAL_S3_CREDENTIALS),
  );
  return file;
}

/**
 * `rclone sync src dst` as a child process (the servers it talks to run in this process, so
 * it must not block), timed; its final statistics come from its JSON log.
 */
export async function rcloneSync(
  binary: string,
  config: string,
  source: string,
  destination: string,
): Promise<RcloneRun> {
  const t0 = performance.now();
  const stderr = await new Promise<string>((resolve, reject) => {
    execFile(
      binary,
      [
        "--config",
        config,
        "sync",
        source,
        destination,
        ...RCLONE_FLAGS,
        // One statistics line at the end (an hour-long interval never fires), as JSON.
        "--use-json-log",
        "--stats-one-line",
        "--stats",
        "1h",
        "--stats-log-level",
        "NOTICE",
        "-v",
      ],
      // The SDK's CA bundle variables confuse rclone's HTTP client; it speaks plain HTTP here.
      // A stuck rclone (it retries a full disk for long) is stopped after an hour.
      {
        env: { ...process.env, AWS_CA_BUNDLE: "" },
        maxBuffer: 256 * 1024 * 1024,
        timeout: 60 * 60_000,
      },
      (err, _stdout, stderr) => {
        // err.message holds all of stderr (one line per object with -v): only its first line
        // and the last errors go into the results.
        const errors = stderr.split("\n").filter((l) => l.includes('"level":"error"'));
        if (err) {
          reject(
            new Error(
              `rclone sync failed (${err.signal ?? `exit code ${err.code}`}): ${err.message.split("\n")[0]?.slice(0, 300)}\n${errors.slice(-3).join("\n").slice(0, 2000)}`,
            ),
          );
        } else resolve(stderr);
      },
    );
  });
  const seconds = (performance.now() - t0) / 1000;
  let stats: Record<string, number> = {};
  for (const line of stderr.split("\n")) {
    try {
      const entry = JSON.parse(line) as { stats?: Record<string, number> };
      if (entry.stats) stats = entry.stats;
    } catch {
      // not a JSON log line
    }
  }
  return {
    seconds,
    bytesTransferred: (stats.bytes ?? 0) * 2,
    transfers: stats.transfers ?? 0,
    deletes: stats.deletes ?? 0,
    checks: stats.checks ?? 0,
  };
}
