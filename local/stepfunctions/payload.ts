// Payload templates (Parameters, ItemSelector, ResultSelector): keys ending in `.$` take a
// path or an intrinsic call, everything else is copied as is.
import { DefinitionError, runtimeError } from "./errors";
import { evaluateIntrinsic, isIntrinsic, validateIntrinsic } from "./intrinsics";
import { type Json, queryPath } from "./paths";

export function applyTemplate(template: Json, input: Json, ctx: Json): Json {
  if (Array.isArray(template)) return template.map((t) => applyTemplate(t, input, ctx));
  if (template === null || typeof template !== "object") return template;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith(".$")) {
      const name = key.slice(0, -2);
      if (typeof value !== "string") throw runtimeError(`Field '${key}' must be a string`);
      out[name] = isIntrinsic(value)
        ? evaluateIntrinsic(value, input, ctx)
        : queryPath(value, input, ctx);
    } else {
      out[key] = applyTemplate(value, input, ctx);
    }
  }
  return out;
}

export function validateTemplate(template: unknown, where: string): void {
  if (Array.isArray(template)) {
    template.forEach((t, i) => {
      validateTemplate(t, `${where}[${i}]`);
    });
    return;
  }
  if (template === null || typeof template !== "object") return;
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith(".$")) {
      if (typeof value !== "string") {
        throw new DefinitionError(`${where}.${key}: a '.$' field must hold a path or intrinsic`);
      }
      if (isIntrinsic(value)) validateIntrinsic(value);
      else if (!value.startsWith("$")) {
        throw new DefinitionError(`${where}.${key}: '${value}' is not a path or intrinsic`);
      }
    } else validateTemplate(value, `${where}.${key}`);
  }
}
