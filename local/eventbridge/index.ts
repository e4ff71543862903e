export { matchesPattern, PatternError, validatePattern } from "./pattern";
export { type DeliveryRecord, EventRouter, type RuleDefinition, type RuleTarget } from "./router";
export { rateIntervalMs, ScheduleError } from "./schedule";
export { type EventBridgeServerHandle, startEventBridgeServer } from "./server";
export { fillTemplate, targetInput } from "./transform";
