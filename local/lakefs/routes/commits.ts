// Commits, the log, merges, reverts, cherry-picks and diffs; commits, merges and reverts run the
// repository's post-* actions.
import { ApiError } from "../api-error";
import {
  after,
  amount,
  BRANCH,
  listReply,
  REF,
  REPO,
  type Route,
  type RouteContext,
  route,
  sinceSeconds,
} from "./routing";
import { commitJson, diffJson } from "./shapes";

export function commitRoutes(ctx: RouteContext): Route[] {
  return [
    route("POST", `${BRANCH}/commits`, "commit", async (req, p) => {
      const body = await req.json();
      if (req.query.get("source_metarange")) {
        throw new ApiError(501, "source_metarange is not supported by the development server");
      }
      const commit = ctx.model.commit(p.repository!, p.branch!, body);
      ctx.fireHooks(p.repository!, p.branch!, commit, "post-commit");
      return { status: 201, json: commitJson(commit) };
    }),
    route("POST", `${BRANCH}/revert`, "revertBranch", async (req, p) => {
      const commit = ctx.model.revert(p.repository!, p.branch!, await req.json());
      // lakeFS runs no hooks on a read-only repository (reverted with force).
      if (!ctx.model.getRepository(p.repository!).read_only) {
        ctx.fireHooks(p.repository!, p.branch!, commit, "post-revert");
      }
      return { status: 204 };
    }),
    // lakeFS fires pre- and post-cherry-pick actions, which this server does not run.
    route("POST", `${BRANCH}/cherry-pick`, "cherryPick", async (req, p) => ({
      status: 201,
      json: commitJson(ctx.model.cherryPick(p.repository!, p.branch!, await req.json())),
    })),
    route("GET", `${REPO}/commits/:commit`, "getCommit", (_req, p) => ({
      status: 200,
      json: commitJson(ctx.model.getCommit(p.repository!, p.commit!)),
    })),
    route("GET", `${REF}/commits`, "logCommits", (req, p) => {
      if (req.query.getAll("objects").length > 0 || req.query.getAll("prefixes").length > 0) {
        throw new ApiError(
          501,
          "objects/prefixes filters are not supported by the development server",
        );
      }
      const n = amount(req);
      const page = ctx.model.logCommits(p.repository!, p.ref!, {
        after: after(req),
        amount: n,
        firstParent: req.query.get("first_parent") === "true",
        stopAt: req.query.get("stop_at") || undefined,
        since: sinceSeconds(req.query.get("since")),
      });
      return listReply(page, n, (c) => c.id, commitJson);
    }),
    route("POST", `${REF}/merge/:destination`, "mergeIntoBranch", async (req, p) => {
      const body = await req.json();
      const commit = ctx.model.merge(p.repository!, p.ref!, p.destination!, body);
      ctx.fireHooks(p.repository!, p.destination!, commit, "post-merge", p.ref!);
      return { status: 200, json: { reference: commit.id } };
    }),
    route("GET", `${REF}/merge/:destination`, "findMergeBase", (_req, p) => ({
      status: 200,
      json: ctx.model.findMergeBase(p.repository!, p.ref!, p.destination!),
    })),
    route("GET", `${BRANCH}/diff`, "diffBranch", (req, p) => {
      const n = amount(req);
      const page = ctx.model.diffBranch(p.repository!, p.branch!, {
        after: after(req),
        prefix: req.query.get("prefix") ?? "",
        delimiter: req.query.get("delimiter") ?? "",
        amount: n,
      });
      return listReply(
        page,
        n,
        (d) => d.path,
        (d) => diffJson(d, false),
      );
    }),
    route("GET", `${REF}/diff/:right`, "diffRefs", (req, p) => {
      const type = req.query.get("type") ?? "three_dot";
      if (type !== "two_dot" && type !== "three_dot") {
        throw new ApiError(400, "type: must be two_dot or three_dot");
      }
      const n = amount(req);
      const page = ctx.model.diffRefs(p.repository!, p.ref!, p.right!, {
        type,
        after: after(req),
        prefix: req.query.get("prefix") ?? "",
        delimiter: req.query.get("delimiter") ?? "",
        amount: n,
      });
      const rightStats = req.query.get("include_right_stats") === "true";
      return listReply(
        page,
        n,
        (d) => d.path,
        (d) => diffJson(d, rightStats),
      );
    }),
  ];
}
