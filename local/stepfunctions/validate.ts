// Load-time validation of a state machine definition (JSONPath query language). Every field
// the runner does not implement is an error here, so nothing is silently ignored.
import { validateChoiceRule } from "./choice";
import { DefinitionError } from "./errors";
import { isIntrinsic, validateIntrinsic } from "./intrinsics";
import { validateReferencePath } from "./paths";
import { validateTemplate } from "./payload";

export type StateDef = Record<string, unknown>;
export interface MachineDef {
  StartAt: string;
  States: Record<string, StateDef>;
  Comment?: string;
  Version?: string;
  TimeoutSeconds?: number;
  QueryLanguage?: string;
}

const COMMON = ["Type", "Comment", "QueryLanguage"];
const IO = ["InputPath", "OutputPath"];
const FLOW = ["Next", "End"];
const RESULT = ["ResultPath", "ResultSelector"];
const ERRORS = ["Retry", "Catch"];

const FIELDS: Record<string, string[]> = {
  Pass: [...COMMON, ...IO, ...FLOW, "ResultPath", "Parameters", "Result"],
  Task: [
    ...COMMON,
    ...IO,
    ...FLOW,
    ...RESULT,
    ...ERRORS,
    "Resource",
    "Parameters",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
  ],
  Choice: [...COMMON, ...IO, "Choices", "Default"],
  Wait: [...COMMON, ...IO, ...FLOW, "Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
  Succeed: [...COMMON, ...IO],
  Fail: [...COMMON, "Error", "Cause", "ErrorPath", "CausePath"],
  Parallel: [...COMMON, ...IO, ...FLOW, ...RESULT, ...ERRORS, "Branches", "Parameters"],
  Map: [
    ...COMMON,
    ...IO,
    ...FLOW,
    ...RESULT,
    ...ERRORS,
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "Parameters",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "Label",
  ],
};

/** Task resources the runner implements; anything else is rejected at load time. */
export const TASK_RESOURCES: RegExp[] = [
  /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/,
  /^arn:aws[a-z-]*:states:::lambda:invoke$/,
  /^arn:aws[a-z-]*:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)$/,
  /^arn:aws[a-z-]*:states:::aws-sdk:s3:(putObject|getObject|listObjectsV2)$/,
  /^arn:aws[a-z-]*:states:::states:startExecution$/,
  /^arn:aws[a-z-]*:states:::events:putEvents$/,
];

function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new DefinitionError(msg);
}

function onlyFields(obj: Record<string, unknown>, allowed: string[], where: string) {
  for (const k of Object.keys(obj)) {
    check(allowed.includes(k), `${where}: unsupported field '${k}'`);
  }
}

function checkPath(v: unknown, where: string, allowNull = true) {
  if (v === null && allowNull) return;
  check(typeof v === "string" && v.startsWith("$"), `${where}: must be a path`);
}

function checkPositiveInt(v: unknown, where: string, allowZero = false) {
  check(
    typeof v === "number" && Number.isInteger(v) && (allowZero ? v >= 0 : v > 0),
    `${where}: must be a ${allowZero ? "non-negative" : "positive"} integer`,
  );
}

export function validateMachine(def: unknown, where = "StateMachine"): asserts def is MachineDef {
  check(def !== null && typeof def === "object" && !Array.isArray(def), `${where}: not an object`);
  const m = def as Record<string, unknown>;
  onlyFields(
    m,
    ["StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"],
    where,
  );
  if (m.QueryLanguage !== undefined) {
    check(
      m.QueryLanguage === "JSONPath",
      `${where}: QueryLanguage '${String(m.QueryLanguage)}' is not supported locally (only JSONPath)`,
    );
  }
  if (m.TimeoutSeconds !== undefined) checkPositiveInt(m.TimeoutSeconds, `${where}.TimeoutSeconds`);
  validateStates(m, where);
}

function validateStates(m: Record<string, unknown>, where: string) {
  check(typeof m.StartAt === "string", `${where}: StartAt is required`);
  check(m.States && typeof m.States === "object", `${where}: States is required`);
  const states = m.States as Record<string, StateDef>;
  check(states[m.StartAt as string], `${where}: StartAt '${String(m.StartAt)}' is not a state`);
  for (const [name, s] of Object.entries(states)) {
    check(name.length <= 80, `${where}.States.${name}: state names are at most 80 characters`);
    validateState(s, `${where}.States.${name}`, states);
  }
}

function validateNext(s: StateDef, where: string, states: Record<string, StateDef>) {
  if (s.End !== undefined) {
    check(s.End === true, `${where}: End must be true`);
    check(s.Next === undefined, `${where}: Next and End are exclusive`);
  } else {
    check(typeof s.Next === "string", `${where}: Next or End is required`);
    check(states[s.Next as string], `${where}: Next '${String(s.Next)}' is not a state`);
  }
}

function validateState(s: StateDef, where: string, states: Record<string, StateDef>) {
  const type = s.Type as string;
  const fields = FIELDS[type];
  check(fields, `${where}: unsupported state type '${String(type)}'`);
  onlyFields(s, fields, where);
  if (s.QueryLanguage !== undefined) {
    check(
      s.QueryLanguage === "JSONPath",
      `${where}: QueryLanguage JSONata is not supported locally`,
    );
  }
  for (const f of ["InputPath", "OutputPath"]) if (f in s) checkPath(s[f], `${where}.${f}`);
  if ("ResultPath" in s && s.ResultPath !== null) {
    checkPath(s.ResultPath, `${where}.ResultPath`);
    validateReferencePath(s.ResultPath as string);
  }
  for (const f of ["Parameters", "ResultSelector", "ItemSelector"]) {
    if (f in s) validateTemplate(s[f], `${where}.${f}`);
  }
  if (FLOW.some((f) => fields.includes(f)) && type !== "Choice") validateNext(s, where, states);
  if ("Retry" in s) validateRetry(s.Retry, `${where}.Retry`);
  if ("Catch" in s) validateCatch(s.Catch, `${where}.Catch`, states);

  switch (type) {
    case "Task":
      check(typeof s.Resource === "string", `${where}: Resource is required`);
      validateTaskParameters(s, where);
      check(
        TASK_RESOURCES.some((r) => r.test(s.Resource as string)),
        `${where}: Resource '${String(s.Resource)}' is not supported by the local runner`,
      );
      if (s.TimeoutSeconds !== undefined)
        checkPositiveInt(s.TimeoutSeconds, `${where}.TimeoutSeconds`);
      if (s.HeartbeatSeconds !== undefined) {
        checkPositiveInt(s.HeartbeatSeconds, `${where}.HeartbeatSeconds`);
        if (typeof s.TimeoutSeconds === "number") {
          check(
            (s.HeartbeatSeconds as number) < s.TimeoutSeconds,
            `${where}: HeartbeatSeconds must be < TimeoutSeconds`,
          );
        }
      }
      check(
        !(s.TimeoutSeconds && s.TimeoutSecondsPath),
        `${where}: TimeoutSeconds and TimeoutSecondsPath are exclusive`,
      );
      if (s.TimeoutSecondsPath !== undefined)
        checkPath(s.TimeoutSecondsPath, `${where}.TimeoutSecondsPath`, false);
      if (s.HeartbeatSecondsPath !== undefined)
        checkPath(s.HeartbeatSecondsPath, `${where}.HeartbeatSecondsPath`, false);
      break;
    case "Choice": {
      check(
        Array.isArray(s.Choices) && s.Choices.length > 0,
        `${where}: Choices must be a non-empty array`,
      );
      (s.Choices as Record<string, unknown>[]).forEach((c, i) => {
        validateChoiceRule(c, `${where}.Choices[${i}]`, true);
        check(
          states[c.Next as string],
          `${where}.Choices[${i}]: Next '${String(c.Next)}' is not a state`,
        );
      });
      if (s.Default !== undefined)
        check(
          states[s.Default as string],
          `${where}: Default '${String(s.Default)}' is not a state`,
        );
      break;
    }
    case "Wait": {
      const n = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"].filter((f) => f in s);
      check(
        n.length === 1,
        `${where}: exactly one of Seconds, Timestamp, SecondsPath, TimestampPath`,
      );
      if ("Seconds" in s) checkPositiveInt(s.Seconds, `${where}.Seconds`, true);
      if ("Timestamp" in s)
        check(
          typeof s.Timestamp === "string" && !Number.isNaN(Date.parse(s.Timestamp)),
          `${where}.Timestamp: not a timestamp`,
        );
      break;
    }
    case "Fail":
      check(!("Error" in s && "ErrorPath" in s), `${where}: Error and ErrorPath are exclusive`);
      check(!("Cause" in s && "CausePath" in s), `${where}: Cause and CausePath are exclusive`);
      for (const f of ["ErrorPath", "CausePath"]) {
        if (f in s) {
          const v = s[f] as string;
          if (!isIntrinsic(v)) checkPath(v, `${where}.${f}`, false);
          else validateIntrinsic(v);
        }
      }
      break;
    case "Parallel":
      check(
        Array.isArray(s.Branches) && s.Branches.length > 0,
        `${where}: Branches must be a non-empty array`,
      );
      (s.Branches as Record<string, unknown>[]).forEach((b, i) => {
        onlyFields(b, ["StartAt", "States", "Comment"], `${where}.Branches[${i}]`);
        validateStates(b, `${where}.Branches[${i}]`);
      });
      break;
    case "Map":
      validateMap(s, where);
      break;
  }
}

/** Parameters an integration accepts; a field the local runner would not honour is an error. */
const INTEGRATION_PARAMETERS: [RegExp, string[]][] = [
  [
    /:states:::lambda:invoke$/,
    ["FunctionName", "Payload", "Qualifier", "ClientContext", "LogType", "InvocationType"],
  ],
  [/:states:::states:startExecution$/, ["StateMachineArn", "Input", "Name"]],
  [/:states:::events:putEvents$/, ["Entries"]],
];

function validateTaskParameters(s: StateDef, where: string) {
  const rule = INTEGRATION_PARAMETERS.find(([re]) => re.test(String(s.Resource)));
  if (!rule || s.Parameters === undefined) return;
  check(
    s.Parameters !== null && typeof s.Parameters === "object",
    `${where}.Parameters: must be an object`,
  );
  for (const key of Object.keys(s.Parameters as object)) {
    const field = key.replace(/\.\$$/, "");
    check(
      rule[1].includes(field),
      `${where}.Parameters: field '${field}' is not supported for ${String(s.Resource)}`,
    );
  }
  const invocationType = (s.Parameters as Record<string, unknown>).InvocationType;
  check(
    invocationType === undefined || invocationType === "RequestResponse",
    `${where}.Parameters.InvocationType: only RequestResponse is supported locally`,
  );
}

function validateRetry(v: unknown, where: string) {
  check(Array.isArray(v), `${where}: must be an array`);
  v.forEach((r: Record<string, unknown>, i: number) => {
    const w = `${where}[${i}]`;
    onlyFields(
      r,
      [
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
      ],
      w,
    );
    validateErrorEquals(r.ErrorEquals, w, i === v.length - 1);
    if (r.IntervalSeconds !== undefined)
      checkPositiveInt(r.IntervalSeconds, `${w}.IntervalSeconds`);
    if (r.MaxAttempts !== undefined) checkPositiveInt(r.MaxAttempts, `${w}.MaxAttempts`, true);
    if (r.MaxDelaySeconds !== undefined)
      checkPositiveInt(r.MaxDelaySeconds, `${w}.MaxDelaySeconds`);
    if (r.BackoffRate !== undefined)
      check(
        typeof r.BackoffRate === "number" && r.BackoffRate >= 1,
        `${w}.BackoffRate: must be >= 1.0`,
      );
    if (r.JitterStrategy !== undefined)
      check(
        r.JitterStrategy === "FULL" || r.JitterStrategy === "NONE",
        `${w}.JitterStrategy: FULL or NONE`,
      );
  });
}

function validateCatch(v: unknown, where: string, states: Record<string, StateDef>) {
  check(Array.isArray(v), `${where}: must be an array`);
  v.forEach((c: Record<string, unknown>, i: number) => {
    const w = `${where}[${i}]`;
    onlyFields(c, ["ErrorEquals", "Next", "ResultPath", "Comment"], w);
    validateErrorEquals(c.ErrorEquals, w, i === v.length - 1);
    check(states[c.Next as string], `${w}: Next '${String(c.Next)}' is not a state`);
    if (c.ResultPath !== undefined && c.ResultPath !== null)
      validateReferencePath(c.ResultPath as string);
  });
}

function validateErrorEquals(v: unknown, where: string, last: boolean) {
  check(
    Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === "string"),
    `${where}.ErrorEquals: non-empty array of strings`,
  );
  if (v.includes("States.ALL")) {
    check(v.length === 1, `${where}: States.ALL must appear alone in ErrorEquals`);
    check(last, `${where}: States.ALL must be in the last retrier/catcher`);
  }
}

function validateMap(s: StateDef, where: string) {
  check(!(s.ItemProcessor && s.Iterator), `${where}: ItemProcessor and Iterator are exclusive`);
  const proc = (s.ItemProcessor ?? s.Iterator) as Record<string, unknown> | undefined;
  check(proc, `${where}: ItemProcessor is required`);
  onlyFields(proc, ["StartAt", "States", "Comment", "ProcessorConfig"], `${where}.ItemProcessor`);
  const cfg = (proc.ProcessorConfig ?? {}) as Record<string, unknown>;
  onlyFields(cfg, ["Mode", "ExecutionType"], `${where}.ItemProcessor.ProcessorConfig`);
  const mode = (cfg.Mode as string) ?? "INLINE";
  check(
    mode === "INLINE" || mode === "DISTRIBUTED",
    `${where}: Mode must be INLINE or DISTRIBUTED`,
  );
  check(!(s.ItemSelector && s.Parameters), `${where}: ItemSelector and Parameters are exclusive`);
  if (mode === "DISTRIBUTED") {
    check(
      cfg.ExecutionType === "STANDARD" || cfg.ExecutionType === "EXPRESS",
      `${where}: a DISTRIBUTED Map needs ExecutionType STANDARD or EXPRESS`,
    );
  } else {
    for (const f of [
      "ItemReader",
      "ItemBatcher",
      "ResultWriter",
      "ToleratedFailureCount",
      "ToleratedFailureCountPath",
      "ToleratedFailurePercentage",
      "ToleratedFailurePercentagePath",
      "Label",
    ]) {
      check(!(f in s), `${where}: ${f} needs ProcessorConfig Mode DISTRIBUTED`);
    }
    check(cfg.ExecutionType === undefined, `${where}: ExecutionType needs Mode DISTRIBUTED`);
  }
  validateStates(proc, `${where}.ItemProcessor`);
  if (s.ItemsPath !== undefined) checkPath(s.ItemsPath, `${where}.ItemsPath`, false);
  if (s.MaxConcurrency !== undefined)
    checkPositiveInt(s.MaxConcurrency, `${where}.MaxConcurrency`, true);
  if (s.ToleratedFailureCount !== undefined)
    checkPositiveInt(s.ToleratedFailureCount, `${where}.ToleratedFailureCount`, true);
  if (s.ToleratedFailurePercentage !== undefined) {
    const p = s.ToleratedFailurePercentage;
    check(
      typeof p === "number" && p >= 0 && p <= 100,
      `${where}.ToleratedFailurePercentage: 0..100`,
    );
  }
  for (const f of [
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
  ]) {
    if (f in s) checkPath(s[f], `${where}.${f}`, false);
  }
  if (s.ItemReader !== undefined) {
    check(!("ItemsPath" in s), `${where}: ItemsPath and ItemReader are exclusive`);
    validateItemReader(s.ItemReader as Record<string, unknown>, where);
  }
  if (s.ItemBatcher !== undefined)
    validateItemBatcher(s.ItemBatcher as Record<string, unknown>, where);
  if (s.ResultWriter !== undefined)
    validateResultWriter(s.ResultWriter as Record<string, unknown>, where);
}

/** ItemReader: s3:getObject (JSON, JSONL, CSV) or s3:listObjectsV2, and its ReaderConfig. */
function validateItemReader(r: Record<string, unknown>, where: string) {
  onlyFields(r, ["Resource", "Parameters", "ReaderConfig"], `${where}.ItemReader`);
  check(
    /^arn:aws[a-z-]*:states:::s3:(getObject|listObjectsV2)$/.test(String(r.Resource)),
    `${where}.ItemReader.Resource '${String(r.Resource)}' is not supported (s3:getObject, s3:listObjectsV2)`,
  );
  validateTemplate(r.Parameters ?? {}, `${where}.ItemReader.Parameters`);
  const rc = (r.ReaderConfig ?? {}) as Record<string, unknown>;
  onlyFields(
    rc,
    ["InputType", "CSVHeaderLocation", "CSVHeaders", "MaxItems", "MaxItemsPath", "CSVDelimiter"],
    `${where}.ItemReader.ReaderConfig`,
  );
  if (String(r.Resource).endsWith("getObject")) {
    check(
      ["JSON", "JSONL", "CSV"].includes(rc.InputType as string),
      `${where}.ItemReader.ReaderConfig.InputType: JSON, JSONL or CSV (MANIFEST is not supported locally)`,
    );
  } else {
    check(
      rc.InputType === undefined,
      `${where}.ItemReader.ReaderConfig.InputType is not allowed with listObjectsV2`,
    );
  }
  if (rc.InputType === "CSV") {
    check(
      rc.CSVHeaderLocation === "FIRST_ROW" || rc.CSVHeaderLocation === "GIVEN",
      `${where}.ItemReader.ReaderConfig.CSVHeaderLocation: FIRST_ROW or GIVEN`,
    );
    if (rc.CSVHeaderLocation === "GIVEN")
      check(
        Array.isArray(rc.CSVHeaders),
        `${where}.ItemReader.ReaderConfig.CSVHeaders is required with GIVEN`,
      );
    if (rc.CSVDelimiter !== undefined)
      check(
        ["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"].includes(rc.CSVDelimiter as string),
        `${where}.ItemReader.ReaderConfig.CSVDelimiter: unsupported value`,
      );
  } else {
    for (const f of ["CSVHeaderLocation", "CSVHeaders", "CSVDelimiter"])
      check(!(f in rc), `${where}.ItemReader.ReaderConfig.${f} needs InputType CSV`);
  }
  if (rc.MaxItems !== undefined)
    checkPositiveInt(rc.MaxItems, `${where}.ItemReader.ReaderConfig.MaxItems`);
}

function validateItemBatcher(b: Record<string, unknown>, where: string) {
  onlyFields(
    b,
    [
      "MaxItemsPerBatch",
      "MaxItemsPerBatchPath",
      "MaxInputBytesPerBatch",
      "MaxInputBytesPerBatchPath",
      "BatchInput",
    ],
    `${where}.ItemBatcher`,
  );
  check(
    [
      "MaxItemsPerBatch",
      "MaxItemsPerBatchPath",
      "MaxInputBytesPerBatch",
      "MaxInputBytesPerBatchPath",
    ].some((f) => f in b),
    `${where}.ItemBatcher: needs MaxItemsPerBatch or MaxInputBytesPerBatch`,
  );
  if (b.MaxItemsPerBatch !== undefined)
    checkPositiveInt(b.MaxItemsPerBatch, `${where}.ItemBatcher.MaxItemsPerBatch`);
  if (b.MaxInputBytesPerBatch !== undefined) {
    checkPositiveInt(b.MaxInputBytesPerBatch, `${where}.ItemBatcher.MaxInputBytesPerBatch`);
    check(
      (b.MaxInputBytesPerBatch as number) <= 262144,
      `${where}.ItemBatcher.MaxInputBytesPerBatch: at most 262144`,
    );
  }
  validateTemplate(b.BatchInput ?? {}, `${where}.ItemBatcher.BatchInput`);
}

function validateResultWriter(w: Record<string, unknown>, where: string) {
  onlyFields(w, ["Resource", "Parameters"], `${where}.ResultWriter`);
  check(
    /^arn:aws[a-z-]*:states:::s3:putObject$/.test(String(w.Resource)),
    `${where}.ResultWriter.Resource must be arn:aws:states:::s3:putObject`,
  );
  const p = (w.Parameters ?? {}) as Record<string, unknown>;
  onlyFields(p, ["Bucket", "Bucket.$", "Prefix", "Prefix.$"], `${where}.ResultWriter.Parameters`);
  check("Bucket" in p || "Bucket.$" in p, `${where}.ResultWriter.Parameters.Bucket is required`);
  validateTemplate(p, `${where}.ResultWriter.Parameters`);
}
