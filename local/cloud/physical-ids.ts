// Physical names and ARNs of every resource, assigned before anything is deployed so any Ref
// or Fn::GetAtt resolves. Generated names end in a hash of stack and logical id: stable across
// restarts of the local environment (data kept on disk stays reachable), like CloudFormation
// keeping a resource's physical id for the life of the stack.
import { createHash } from "node:crypto";
import type { DeployContext } from "./deploy-context";
import type { CfnResource } from "./template";

const suffixOf = (stack: string, id: string) =>
  createHash("sha256").update(`${stack}/${id}`).digest("hex").slice(0, 8);

function bucketName(stack: string, id: string): string {
  const base = `${stack}-${id}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 54)
    .replace(/-$/, "");
  return `${base}-${suffixOf(stack, id)}`;
}

type ArnOf = (svc: string, rest: string) => string;

const arnOfFor =
  (ctx: DeployContext): ArnOf =>
  (svc, rest) =>
    `arn:aws:${svc}:${ctx.region}:${ctx.accountId}:${rest}`;

/** Assigns every resource its physical id: generated, then explicit names, then rules. */
export function assignPhysicalIds(ctx: DeployContext): void {
  for (const [id, r] of ctx.resources) generatedName(ctx, id, r);
  // Explicit names win; they may reference pseudo parameters or other resources.
  for (const [id, r] of ctx.resources) explicitName(ctx, id, r);
  for (const [id, r] of ctx.resources) {
    if (r.Type === "AWS::Events::Rule") ruleName(ctx, id, r);
  }
}

function generatedName(ctx: DeployContext, id: string, r: CfnResource): void {
  const { stackName, region, accountId, physical } = ctx;
  const arnOf = arnOfFor(ctx);
  const generic = `${stackName}-${id}`.slice(0, 64);
  switch (r.Type) {
    case "AWS::Lambda::Function": {
      const name = `${stackName}-${id}`.slice(0, 55) + `-${suffixOf(stackName, id)}`;
      physical.set(id, { ref: name, attrs: { Arn: arnOf("lambda", `function:${name}`) } });
      break;
    }
    case "AWS::S3::Bucket": {
      const name = bucketName(stackName, id);
      physical.set(id, {
        ref: name,
        attrs: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
        },
      });
      break;
    }
    case "AWS::DynamoDB::Table": {
      const name = `${stackName}-${id}-${suffixOf(stackName, id)}`;
      physical.set(id, {
        ref: name,
        attrs: {
          Arn: arnOf("dynamodb", `table/${name}`),
          StreamArn: arnOf("dynamodb", `table/${name}/stream/local`),
        },
      });
      break;
    }
    case "AWS::StepFunctions::StateMachine": {
      const name = `${id}-${suffixOf(stackName, id)}`;
      const arn = arnOf("states", `stateMachine:${name}`);
      physical.set(id, { ref: arn, attrs: { Arn: arn, Name: name } });
      break;
    }
    case "AWS::Events::EventBus": {
      const name = `${stackName}-${id}`;
      physical.set(id, {
        ref: name,
        attrs: { Arn: arnOf("events", `event-bus/${name}`), Name: name },
      });
      break;
    }
    case "AWS::SQS::Queue": {
      const name = `${stackName}-${id}-${suffixOf(stackName, id)}`.slice(0, 80);
      physical.set(id, { ref: ctx.queueUrlOf(name), attrs: queueAttrs(ctx, name) });
      break;
    }
    case "AWS::Scheduler::Schedule": {
      const name = `${stackName}-${id}`.slice(0, 64);
      physical.set(id, {
        ref: name,
        attrs: { Arn: arnOf("scheduler", `schedule/default/${name}`) },
      });
      break;
    }
    case "AWS::IAM::Role":
      physical.set(id, {
        ref: generic,
        attrs: {
          Arn: `arn:aws:iam::${accountId}:role/${generic}`,
          RoleId: `AROA${id.toUpperCase().slice(0, 16)}`,
        },
      });
      break;
    default:
      physical.set(id, {
        ref: generic,
        attrs: { Arn: arnOf("local", `${r.Type.replace(/::/g, "-")}/${generic}`) },
      });
  }
}

/** The resource's own name property, resolved, if it has one. */
function explicit(ctx: DeployContext, r: CfnResource, prop: string): string | undefined {
  const v = r.Properties?.[prop];
  return v === undefined ? undefined : String(ctx.resolver.resolve(v));
}

function explicitName(ctx: DeployContext, id: string, r: CfnResource): void {
  const { region, accountId, physical } = ctx;
  const arnOf = arnOfFor(ctx);
  const p = physical.get(id)!;
  const set = (
    name: string | undefined,
    attrs: (n: string) => Record<string, string>,
    refIsArn = false,
  ) => {
    if (!name) return;
    const a = attrs(name);
    physical.set(id, { ref: refIsArn ? a.Arn! : name, attrs: { ...p.attrs, ...a } });
  };
  if (r.Type === "AWS::Lambda::Function")
    set(explicit(ctx, r, "FunctionName"), (n) => ({ Arn: arnOf("lambda", `function:${n}`) }));
  if (r.Type === "AWS::S3::Bucket")
    set(explicit(ctx, r, "BucketName"), (n) => ({
      Arn: `arn:aws:s3:::${n}`,
      DomainName: `${n}.s3.amazonaws.com`,
      RegionalDomainName: `${n}.s3.${region}.amazonaws.com`,
    }));
  if (r.Type === "AWS::DynamoDB::Table")
    set(explicit(ctx, r, "TableName"), (n) => ({
      Arn: arnOf("dynamodb", `table/${n}`),
      StreamArn: arnOf("dynamodb", `table/${n}/stream/local`),
    }));
  if (r.Type === "AWS::StepFunctions::StateMachine")
    set(
      explicit(ctx, r, "StateMachineName"),
      (n) => ({ Arn: arnOf("states", `stateMachine:${n}`), Name: n }),
      true,
    );
  if (r.Type === "AWS::Events::EventBus")
    set(explicit(ctx, r, "Name"), (n) => ({ Arn: arnOf("events", `event-bus/${n}`), Name: n }));
  if (r.Type === "AWS::IAM::Role")
    set(explicit(ctx, r, "RoleName"), (n) => ({ Arn: `arn:aws:iam::${accountId}:role/${n}` }));
  if (r.Type === "AWS::SQS::Queue") {
    const n = explicit(ctx, r, "QueueName");
    if (n) physical.set(id, { ref: ctx.queueUrlOf(n), attrs: queueAttrs(ctx, n) });
  }
  if (r.Type === "AWS::Scheduler::Schedule")
    set(explicit(ctx, r, "Name"), (n) => ({
      Arn: arnOf("scheduler", `schedule/${explicit(ctx, r, "GroupName") ?? "default"}/${n}`),
    }));
}

function queueAttrs(ctx: DeployContext, name: string): Record<string, string> {
  return {
    Arn: arnOfFor(ctx)("sqs", name),
    QueueName: name,
    QueueUrl: ctx.queueUrlOf(name),
  };
}

/** A rule's ARN names its bus (known only once the buses have their names). */
function ruleName(ctx: DeployContext, id: string, r: CfnResource): void {
  const arnOf = arnOfFor(ctx);
  const bus = r.Properties?.EventBusName
    ? String(ctx.resolver.resolve(r.Properties.EventBusName)).replace(/^.*:event-bus\//, "")
    : "default";
  const name = explicit(ctx, r, "Name") ?? `${ctx.stackName}-${id}`.slice(0, 64);
  ctx.physical.set(id, {
    ref: name,
    attrs: { Arn: arnOf("events", bus === "default" ? `rule/${name}` : `rule/${bus}/${name}`) },
  });
}
