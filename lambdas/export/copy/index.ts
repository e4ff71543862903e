export * from "./copy-object";
export * from "./delete-objects";
export * from "./export-operations";
export * from "./run-copy-batch";
export * from "./run-export-shard";
export * from "./types";
export * from "./write-markers";
