import { createS3Client } from "../../shared/aws/clients";
import { lambdaHandler } from "../../shared/lambda-handler";
import { type CopyPartsEvent, runCopyPartsStep } from "../app/copy-mark";
import { gcDepsFromEnv } from "./deps";

let s3: ReturnType<typeof createS3Client> | undefined;

export const handler = lambdaHandler({
  name: "GC copy of marked objects",
  run: async (event: CopyPartsEvent) => {
    s3 ??= createS3Client();
    return runCopyPartsStep(gcDepsFromEnv(), s3, event);
  },
});
