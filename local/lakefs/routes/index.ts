// Every lakeFS API route of the development server, by group.
import { commitRoutes } from "./commits";
import { gcSettingsRoutes } from "./gc-settings";
import { objectReadRoutes } from "./object-reads";
import { presignMultipartRoutes } from "./presign-multipart";
import { repositoryRoutes } from "./repositories";
import type { Route, RouteContext } from "./routing";
import { stagingRoutes } from "./staging";
import { tagRoutes } from "./tags";

export function lakeFsRoutes(ctx: RouteContext): Route[] {
  return [
    ...repositoryRoutes(ctx),
    ...commitRoutes(ctx),
    ...stagingRoutes(ctx),
    ...presignMultipartRoutes(ctx),
    ...objectReadRoutes(ctx),
    ...tagRoutes(ctx),
    ...gcSettingsRoutes(ctx),
  ];
}
