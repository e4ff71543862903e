export { matchesPattern, PatternError, validatePattern } from "./pattern";
export { type DeliveryRecord, EventRouter, type RuleDefinition, type RuleTarget } from "./router";
export { nextFireTime, parseSchedule, rateIntervalMs, ScheduleError } from "./schedule";
export {
  LocalScheduler,
  type ScheduleDefinition,
  type ScheduledInvocation,
} from "./scheduler";
export { type EventBridgeServerHandle, startEventBridgeServer } from "./server";
export { fillTemplate, targetInput } from "./transform";
