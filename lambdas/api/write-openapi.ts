// Writes openapi.json at the project root: `npx tsx lambdas/api/write-openapi.ts`
// (then `npx biome format --write openapi.json`). A unit test checks it is up to date.
import { writeFileSync } from "node:fs";
import { openApiJson } from "./openapi";

writeFileSync(new URL("../../openapi.json", import.meta.url), openApiJson());
console.log("wrote openapi.json");
