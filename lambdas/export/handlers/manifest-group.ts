import { lambdaHandler } from "../../shared/lambda-handler";
import { type ManifestGroupEvent, runManifestGroupStep } from "../app/manifest-group-step";
import { exportKeysOf, exportObjectStore, workBucket } from "./deps";

export const handler = lambdaHandler({
  name: "export manifest group",
  keys: (event: ManifestGroupEvent) => exportKeysOf(event.BatchInput?.state),
  run: async (event: ManifestGroupEvent) =>
    runManifestGroupStep(
      { store: exportObjectStore(), workBucket: workBucket(), now: () => new Date() },
      event,
    ),
});
