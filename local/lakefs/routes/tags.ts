// Tags.
import { after, amount, listReply, REPO, type Route, type RouteContext, route } from "./routing";

export function tagRoutes(ctx: RouteContext): Route[] {
  return [
    route("GET", `${REPO}/tags`, "listTags", (req, p) => {
      const n = amount(req);
      const page = ctx.model.listTags(p.repository!, after(req), req.query.get("prefix") ?? "", n);
      return listReply(page, n, (r) => r.id);
    }),
    route("POST", `${REPO}/tags`, "createTag", async (req, p) => {
      const body = await req.json();
      return { status: 201, json: ctx.model.createTag(p.repository!, body.id, body.ref) };
    }),
    route("GET", `${REPO}/tags/:tag`, "getTag", (_req, p) => ({
      status: 200,
      json: ctx.model.getTag(p.repository!, p.tag!),
    })),
    route("DELETE", `${REPO}/tags/:tag`, "deleteTag", (_req, p) => {
      ctx.model.deleteTag(p.repository!, p.tag!);
      return { status: 204 };
    }),
  ];
}
