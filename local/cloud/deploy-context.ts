// What every phase of a local deployment works on: the template's resources, the physical
// ids assigned to them, the resolver of intrinsics, and the list of what got deployed.
import type { CfnResource, Physical, TemplateResolver } from "./template";

export interface DeployedResource {
  logicalId: string;
  type: string;
  physicalId: string;
  arn?: string;
}

export interface DeployContext {
  assemblyDir: string;
  stackName: string;
  region: string;
  accountId: string;
  /** The template's resources whose Condition holds, by logical id. */
  resources: [string, CfnResource][];
  physical: Map<string, Physical>;
  resolver: TemplateResolver;
  /** Extra environment for every function; wins over the template's. */
  lambdaEnv: Record<string, string> | undefined;
  deployed: DeployedResource[];
  /** Resource types the local environment does not implement. */
  unsupported: { logicalId: string; type: string }[];
  /** The URL of an SQS queue by name (on the local SQS endpoint). */
  queueUrlOf: (name: string) => string;
}

/** A resource's properties with every intrinsic resolved. */
export function resolvedProps(ctx: DeployContext, r: CfnResource): Record<string, unknown> {
  return (ctx.resolver.resolve(r.Properties ?? {}) ?? {}) as Record<string, unknown>;
}

/** Adds a deployed resource to the deployment's list, with its physical id and ARN. */
export function recordDeployed(ctx: DeployContext, id: string, type: string): void {
  const p = ctx.physical.get(id)!;
  ctx.deployed.push({
    logicalId: id,
    type,
    physicalId: p.ref,
    ...(p.attrs.Arn ? { arn: p.attrs.Arn } : {}),
  });
}
