// Deployment phase: every state machine registered in the local runner with its definition
// (DefinitionSubstitutions applied); the runner validates it.
import type { StepFunctionsRunner } from "../stepfunctions/runner";
import { type DeployContext, recordDeployed, resolvedProps } from "./deploy-context";
import { TemplateError } from "./template";

export function deployStateMachines(ctx: DeployContext, runner: StepFunctionsRunner): void {
  for (const [id, r] of ctx.resources) {
    if (r.Type !== "AWS::StepFunctions::StateMachine") continue;
    const p = resolvedProps(ctx, r);
    let definition =
      typeof p.DefinitionString === "string"
        ? p.DefinitionString
        : p.Definition !== undefined
          ? JSON.stringify(p.Definition)
          : undefined;
    if (definition === undefined)
      throw new TemplateError(`State machine ${id}: DefinitionS3Location is not supported locally`);
    for (const [k, v] of Object.entries(
      (p.DefinitionSubstitutions ?? {}) as Record<string, unknown>,
    )) {
      definition = definition.split(`\${${k}}`).join(String(v));
    }
    runner.createStateMachine({
      name: ctx.physical.get(id)!.attrs.Name!,
      definition,
      roleArn: String(p.RoleArn ?? ""),
      type: p.StateMachineType === "EXPRESS" ? "EXPRESS" : "STANDARD",
    });
    recordDeployed(ctx, id, r.Type);
  }
}
