// Lakeport next to the tool a user would otherwise run, in the same run, on the same branch and
// commits, counted by the same counters (the embedded S3's request counts, the lakeFS dev
// server's request counts, its S3 gateway included): the first export of a branch, then ten
// changed objects. Lakeport is timed from the commit to its last execution's end (export
// benchmark); rclone from its start to its exit. Both results are checked against the commit.
import type { BenchEnv } from "./env";
import {
  BenchFailure,
  commitAndAwaitExport,
  prepareExportBranch,
  stageChanges,
  verifyExport,
  verifyPathEqualsCommit,
} from "./export-bench";
import type { PhysicalObject } from "./populate";
import { ensureRclone, RCLONE_FLAGS, rcloneSync, writeRcloneConfig } from "./rclone-peer";
import type { PeerComparison, PeerFigures } from "./report";
import type { PhaseRecorder } from "./usage";

export interface PeerBenchOptions {
  sizes: number[];
  pool: PhysicalObject[];
  nsBucket: string;
  exportBucket: string;
  phase: () => PhaseRecorder;
  log: (m: string) => void;
  exportTimeoutMs: (objects: number) => number;
}

/** Requests the embedded S3 and lakeFS saw while `work` ran. */
async function counted<T>(
  env: BenchEnv,
  work: () => Promise<T>,
): Promise<{ result: T; s3Requests: number; lakeFsRequests: number }> {
  const s3Before = env.s3Server.admin.requestCounts().total;
  const lkBefore = env.lakefsServer.stats().requests;
  const result = await work();
  return {
    result,
    s3Requests: env.s3Server.admin.requestCounts().total - s3Before,
    lakeFsRequests: env.lakefsServer.stats().requests - lkBefore,
  };
}

const ratio = (a: PeerFigures, b: PeerFigures) => ({
  timeRatio: a.seconds / b.seconds,
  requestRatio: (a.s3Requests + a.lakeFsRequests) / (b.s3Requests + b.lakeFsRequests),
});

export async function runPeerBench(
  env: BenchEnv,
  o: PeerBenchOptions,
): Promise<{ comparisons: PeerComparison[]; unavailable?: string }> {
  const rclone = ensureRclone(o.log);
  if (!rclone)
    return { comparisons: [], unavailable: "rclone peer (rclone could not be installed)" };
  const config = await writeRcloneConfig(env);
  const out: PeerComparison[] = [];
  for (const size of o.sizes) {
    const b = await prepareExportBranch(env, {
      repo: `peer-${size}`,
      nsBucket: o.nsBucket,
      exportBucket: o.exportBucket,
      objects: size,
      pool: o.pool,
    });
    const rclonePrefix = `${b.repo}/rclone`;
    const lakeport = async (label: string): Promise<{ figures: PeerFigures; commitId: string }> => {
      const rec = o.phase();
      const { commitId, seconds } = await commitAndAwaitExport(
        env,
        b,
        label,
        o.exportTimeoutMs(b.objects),
      );
      const usage = rec.finish();
      await verifyExport(env, b, commitId);
      return {
        commitId,
        figures: {
          seconds,
          s3Requests: usage.s3Requests,
          // The benchmark's own commit call is not Lakeport's work.
          lakeFsRequests: usage.lakeFsCalls - 1,
          // Server-side copies: no object byte passes through a Lambda.
          bytesThroughClient: 0,
        },
      };
    };
    const peer = async (commitId: string): Promise<PeerFigures> => {
      const run = await counted(env, () =>
        rcloneSync(
          rclone,
          config,
          `lakefs:${b.repo}/${commitId}/`,
          `s3:${b.exportBucket}/${rclonePrefix}/`,
        ),
      );
      await verifyPathEqualsCommit(env, b, commitId, rclonePrefix);
      return {
        seconds: run.result.seconds,
        s3Requests: run.s3Requests,
        lakeFsRequests: run.lakeFsRequests,
        bytesThroughClient: run.result.bytesTransferred,
      };
    };
    o.log(`peer ${size}: Lakeport first export`);
    const first = await lakeport("first");
    o.log(`peer ${size}: rclone sync ${RCLONE_FLAGS.join(" ")}`);
    const firstPeer = await peer(first.commitId);
    await stageChanges(env, b, o.nsBucket, 10, 1);
    o.log(`peer ${size}: ten changes`);
    const second = await lakeport("ten changes");
    const secondPeer = await peer(second.commitId);
    if (secondPeer.bytesThroughClient === 0) {
      throw new BenchFailure(`rclone copied nothing for the ten changes on ${b.repo}`);
    }
    out.push({
      branchObjects: size,
      first: { lakeport: first.figures, rclone: firstPeer, ...ratio(first.figures, firstPeer) },
      incremental: {
        lakeport: second.figures,
        rclone: secondPeer,
        ...ratio(second.figures, secondPeer),
      },
    });
    const c = out.at(-1)!;
    o.log(
      `peer ${size}: first ${c.first.lakeport.seconds.toFixed(1)} s vs rclone ${c.first.rclone.seconds.toFixed(1)} s; ten changes ${c.incremental.lakeport.seconds.toFixed(1)} s vs ${c.incremental.rclone.seconds.toFixed(1)} s (requests ${c.incremental.lakeport.s3Requests + c.incremental.lakeport.lakeFsRequests} vs ${c.incremental.rclone.s3Requests + c.incremental.rclone.lakeFsRequests}), verified`,
    );
  }
  return { comparisons: out };
}
