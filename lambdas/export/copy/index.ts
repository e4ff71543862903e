export * from "./copy-object";
export * from "./delete-objects";
export * from "./export-operations";
export * from "./run-copy-batch";
export * from "./types";
