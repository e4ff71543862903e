// Post-commit, post-merge and post-revert hooks of the development server: started after the
// reply, their runs kept for tests (newest last), awaited on stop.
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type ActionEnvironment, type HookRun, runPostHooks } from "./actions";
import type { LakeFsModel } from "./model";
import type { FireHooks } from "./routes/routing";
import { parseS3Uri } from "./storage";

export class PostHooks {
  readonly runs: HookRun[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly model: LakeFsModel,
    private readonly s3: S3Client,
    private readonly actionEnv: ActionEnvironment,
  ) {}

  readonly fire: FireHooks = (repo, branch, commit, eventType, mergeSource) => {
    // Started on the next turn of the event loop: the commit or merge answers first.
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() =>
        runPostHooks(
          this.model.entriesUnder(repo, commit.id, "_lakefs_actions/"),
          async (address) => {
            const { bucket, key } = parseS3Uri(address);
            const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            return out.Body!.transformToString();
          },
          { repo, branch, commit, eventType, mergeSource },
          this.runs,
          this.actionEnv,
        ),
      )
      .catch(() => undefined)
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  };

  /** Resolves when every hook started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Waits for the hooks in flight (server stop). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
