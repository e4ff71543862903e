// Reads a synthesized CloudFormation template from a cloud assembly and resolves its
// intrinsic functions against the physical ids the local deployment assigns.
import { readFileSync } from "node:fs";
import path from "node:path";

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/** Finds the stack template in a cdk.out directory (manifest.json -> templateFile). */
export function loadAssemblyTemplate(
  assemblyDir: string,
  stackName?: string,
): { stackName: string; template: CfnTemplate } {
  const manifest = JSON.parse(readFileSync(path.join(assemblyDir, "manifest.json"), "utf8")) as {
    artifacts?: Record<
      string,
      {
        type: string;
        properties?: { templateFile?: string; stackName?: string };
        displayName?: string;
      }
    >;
  };
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(
    ([, a]) => a.type === "aws:cloudformation:stack",
  );
  if (stacks.length === 0) throw new TemplateError(`No stack in ${assemblyDir}/manifest.json`);
  const found = stackName
    ? stacks.find(
        ([id, a]) =>
          id === stackName || a.properties?.stackName === stackName || a.displayName === stackName,
      )
    : stacks.length === 1
      ? stacks[0]
      : undefined;
  if (!found) {
    throw new TemplateError(
      stackName
        ? `Stack '${stackName}' not found in ${assemblyDir} (have: ${stacks.map(([id]) => id).join(", ")})`
        : `Several stacks in ${assemblyDir}; pass stackName (have: ${stacks.map(([id]) => id).join(", ")})`,
    );
  }
  const [id, art] = found;
  const file = art.properties?.templateFile ?? `${id}.template.json`;
  return {
    stackName: art.properties?.stackName ?? id,
    template: JSON.parse(readFileSync(path.join(assemblyDir, file), "utf8")) as CfnTemplate,
  };
}

export interface Physical {
  ref: string;
  attrs: Record<string, string>;
}

export interface ResolverContext {
  region: string;
  accountId: string;
  partition: string;
  urlSuffix: string;
  stackName: string;
  physical: Map<string, Physical>;
  parameters: Record<string, unknown>;
}

const NO_VALUE = Symbol("AWS::NoValue");

export class TemplateResolver {
  constructor(
    private readonly template: CfnTemplate,
    private readonly ctx: ResolverContext,
  ) {}

  pseudo(name: string): string | undefined {
    switch (name) {
      case "AWS::Region":
        return this.ctx.region;
      case "AWS::AccountId":
        return this.ctx.accountId;
      case "AWS::Partition":
        return this.ctx.partition;
      case "AWS::URLSuffix":
        return this.ctx.urlSuffix;
      case "AWS::StackName":
        return this.ctx.stackName;
      case "AWS::StackId":
        return `arn:${this.ctx.partition}:cloudformation:${this.ctx.region}:${this.ctx.accountId}:stack/${this.ctx.stackName}/local`;
    }
    return undefined;
  }

  ref(name: string): unknown {
    if (name === "AWS::NoValue") return NO_VALUE;
    const p = this.pseudo(name);
    if (p !== undefined) return p;
    if (name in this.ctx.parameters) return this.ctx.parameters[name];
    const phys = this.ctx.physical.get(name);
    if (phys) return phys.ref;
    throw new TemplateError(`Ref to unknown resource or parameter '${name}'`);
  }

  getAtt(id: string, attr: string): string {
    const phys = this.ctx.physical.get(id);
    if (!phys) throw new TemplateError(`Fn::GetAtt on unknown resource '${id}'`);
    const v = phys.attrs[attr];
    if (v === undefined) {
      throw new TemplateError(
        `Fn::GetAtt ${id}.${attr}: attribute not known locally for ${this.template.Resources[id]?.Type}`,
      );
    }
    return v;
  }

  condition(name: string): boolean {
    const c = this.template.Conditions?.[name];
    if (c === undefined) throw new TemplateError(`Unknown condition '${name}'`);
    return Boolean(this.resolve(c));
  }

  resolve(v: unknown): unknown {
    const out = this.resolveInner(v);
    return out === NO_VALUE ? undefined : out;
  }

  private resolveInner(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.resolveInner(x)).filter((x) => x !== NO_VALUE);
    if (v === null || typeof v !== "object") return v;
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 1) {
      const [k, arg] = entries[0]!;
      if (k === "Ref") return this.ref(String(arg));
      if (k === "Condition") return this.condition(String(arg));
      if (k.startsWith("Fn::")) return this.fn(k, arg);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries) {
      const r = this.resolveInner(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private fn(name: string, arg: unknown): unknown {
    const a = arg as unknown[];
    switch (name) {
      case "Fn::GetAtt": {
        const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.+)/);
        return this.getAtt(String(id), String(this.resolveInner(attr)));
      }
      case "Fn::Join": {
        const parts = this.resolveInner(a[1]) as unknown[];
        return parts.map((p) => String(p)).join(String(a[0]));
      }
      case "Fn::Select": {
        const list = this.resolveInner(a[1]) as unknown[];
        const idx = Number(this.resolveInner(a[0]));
        if (!Array.isArray(list) || idx < 0 || idx >= list.length)
          throw new TemplateError(`Fn::Select index ${idx} out of range`);
        return list[idx];
      }
      case "Fn::Split":
        return String(this.resolveInner(a[1])).split(String(a[0]));
      case "Fn::Sub": {
        const [tpl, vars] = Array.isArray(arg)
          ? [String(a[0]), (this.resolveInner(a[1]) ?? {}) as Record<string, unknown>]
          : [String(arg), {}];
        return tpl.replace(/\$\{([^}]+)\}/g, (_m, key: string) => {
          if (key.startsWith("!")) return `\${${key.slice(1)}}`;
          if (key in vars) return String(vars[key]);
          const dot = key.indexOf(".");
          if (dot > 0 && !key.startsWith("AWS::"))
            return this.getAtt(key.slice(0, dot), key.slice(dot + 1));
          return String(this.ref(key));
        });
      }
      case "Fn::If": {
        const [cond, yes, no] = a as [string, unknown, unknown];
        return this.condition(cond) ? this.resolveInner(yes) : this.resolveInner(no);
      }
      case "Fn::Equals": {
        const [x, y] = (a as unknown[]).map((e) => this.resolveInner(e));
        return JSON.stringify(x) === JSON.stringify(y);
      }
      case "Fn::Not":
        return !this.resolveInner(a[0]);
      case "Fn::And":
        return (a as unknown[]).every((e) => this.resolveInner(e));
      case "Fn::Or":
        return (a as unknown[]).some((e) => this.resolveInner(e));
      case "Fn::Base64":
        return Buffer.from(String(this.resolveInner(arg))).toString("base64");
      case "Fn::GetAZs":
        return ["a", "b", "c"].map((z) => `${this.ctx.region}${z}`);
      case "Fn::ToJsonString":
        return JSON.stringify(this.resolveInner(arg));
    }
    throw new TemplateError(`Intrinsic function ${name} is not supported locally`);
  }
}
