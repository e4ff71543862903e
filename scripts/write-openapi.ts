// Writes openapi.json at the project root from the API's route table and schemas:
// `npm run openapi`. A unit test checks the committed file is up to date.
import { writeFileSync } from "node:fs";
import { openApiJson } from "../lambdas/api/openapi";

writeFileSync(new URL("../openapi.json", import.meta.url), openApiJson());
console.log("wrote openapi.json");
