// A repository's garbage collection rules (settings/gc_rules).
import { REPO, type Route, type RouteContext, route } from "./routing";

export function gcSettingsRoutes(ctx: RouteContext): Route[] {
  return [
    route("GET", `${REPO}/settings/gc_rules`, "getGCRules", (_req, p) => ({
      status: 200,
      json: ctx.model.getGcRules(p.repository!),
    })),
    route("PUT", `${REPO}/settings/gc_rules`, "setGCRules", async (req, p) => {
      ctx.model.setGcRules(p.repository!, await req.json());
      return { status: 204 };
    }),
    route("DELETE", `${REPO}/settings/gc_rules`, "deleteGCRules", (_req, p) => {
      ctx.model.deleteGcRules(p.repository!);
      return { status: 204 };
    }),
  ];
}
