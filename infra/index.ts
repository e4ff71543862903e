// The package's entry (`import { Lakeport } from "lakeport"`): the construct, its props, the
// stack infra/app.ts deploys and the cdk-nag checks Lakeport is verified with.
export {
  type GcSchedule,
  isBucketName,
  Lakeport,
  type LakeportProps,
  validateProps,
} from "./lakeport";
export { type AcceptedFinding, awsSolutionsFindings, lakeportNagChecks } from "./nag";
export {
  LakeportStack,
  type LakeportStackProps,
  type LakeportStackSettings,
  validateSettings,
} from "./stack";
