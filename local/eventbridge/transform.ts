// Target input as a rule target describes it: Input (constant JSON), InputPath, or
// InputTransformer (InputPathsMap + InputTemplate with <placeholders>).
import { JSONPath } from "jsonpath-plus";

export interface TargetInputSpec {
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

function pick(path: string, json: unknown): unknown {
  if (path === "$") return json;
  const r = JSONPath({ path, json: json as object, wrap: true }) as unknown[];
  return r.length === 0 ? undefined : r[0];
}

/** Returns the exact text EventBridge hands to the target. */
export function targetInput(
  spec: TargetInputSpec,
  event: Record<string, unknown>,
  rule: { arn: string; name: string },
): string {
  if (spec.Input !== undefined) return spec.Input;
  if (spec.InputPath !== undefined) return JSON.stringify(pick(spec.InputPath, event) ?? null);
  if (!spec.InputTransformer) return JSON.stringify(event);
  const vars: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(spec.InputTransformer.InputPathsMap ?? {}))
    vars[k] = pick(p, event);
  vars["aws.events.rule-arn"] = rule.arn;
  vars["aws.events.rule-name"] = rule.name;
  vars["aws.events.event.ingestion-time"] = event.time;
  vars["aws.events.event"] = event;
  vars["aws.events.event.json"] = event;
  return fillTemplate(spec.InputTransformer.InputTemplate, vars);
}

/** Inside a JSON string a placeholder gets the raw text; outside it gets the JSON value. */
export function fillTemplate(template: string, vars: Record<string, unknown>): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === "<") {
      const end = template.indexOf(">", i);
      const name = end > 0 ? template.slice(i + 1, end) : "";
      if (end > 0 && name in vars) {
        const v = vars[name];
        if (inString) {
          const text = typeof v === "string" ? v : JSON.stringify(v ?? null);
          out += JSON.stringify(text).slice(1, -1);
        } else {
          out += v === undefined ? "null" : JSON.stringify(v);
        }
        i = end;
        continue;
      }
    }
    if (c === '"' && template[i - 1] !== "\\") inString = !inString;
    out += c;
  }
  return out;
}
