// Repositories and branches.
import { ensureStorageNamespace } from "../storage";
import {
  after,
  amount,
  BRANCH,
  listReply,
  REPO,
  type Route,
  type RouteContext,
  route,
} from "./routing";

export function repositoryRoutes(ctx: RouteContext): Route[] {
  return [
    route("GET", "repositories", "listRepositories", (req) => {
      const page = ctx.model.listRepositories(
        after(req),
        req.query.get("prefix") ?? "",
        amount(req),
      );
      return listReply(page, amount(req), (r) => r.id);
    }),
    route("POST", "repositories", "createRepository", async (req) => {
      const body = await req.json();
      await ensureStorageNamespace(ctx.s3, body.storage_namespace);
      const record = ctx.model.createRepository({
        name: body.name as string,
        storage_namespace: body.storage_namespace as string,
        default_branch: body.default_branch as string | undefined,
        read_only: body.read_only === true,
        bare: req.query.get("bare") === "true",
      });
      return { status: 201, json: record };
    }),
    route("GET", REPO, "getRepository", (_req, p) => ({
      status: 200,
      json: ctx.model.getRepository(p.repository!),
    })),
    route("DELETE", REPO, "deleteRepository", (_req, p) => {
      ctx.model.deleteRepository(p.repository!);
      return { status: 204 };
    }),
    route("GET", `${REPO}/branches`, "listBranches", (req, p) => {
      const n = amount(req);
      const page = ctx.model.listBranches(
        p.repository!,
        after(req),
        req.query.get("prefix") ?? "",
        n,
        req.query.get("show_hidden") === "true",
      );
      return listReply(page, n, (r) => r.id);
    }),
    route("POST", `${REPO}/branches`, "createBranch", async (req, p) => {
      const body = await req.json();
      const id = ctx.model.createBranch(p.repository!, body.name, body.source, body.hidden);
      return { status: 201, text: id, headers: { "content-type": "text/html" } };
    }),
    route("GET", BRANCH, "getBranch", (_req, p) => ({
      status: 200,
      json: ctx.model.getBranch(p.repository!, p.branch!),
    })),
    route("DELETE", BRANCH, "deleteBranch", (_req, p) => {
      ctx.model.deleteBranch(p.repository!, p.branch!);
      return { status: 204 };
    }),
    route("PUT", BRANCH, "resetBranch", async (req, p) => {
      ctx.model.resetBranch(p.repository!, p.branch!, await req.json());
      return { status: 204 };
    }),
    route("PUT", `${BRANCH}/hard_reset`, "hardResetBranch", (req, p) => {
      const force = req.query.get("force") === "true";
      ctx.model.hardReset(p.repository!, p.branch!, req.query.get("ref") ?? "", force);
      return { status: 204 };
    }),
  ];
}
