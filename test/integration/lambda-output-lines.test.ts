// The local Lambda runtime keeps every function's output lines and shows them on this
// process's terminal only when asked (`npm run local`), never in tests or the demo.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deployLocally } from "../../local/cloud";
import { LambdaRuntime } from "../../local/lambda/runtime";

const codeDir = path.join(__dirname, "../fixtures/asl/lambda-handler");

function runtimeWith(echoOutput: boolean | undefined): LambdaRuntime {
  const runtime = new LambdaRuntime(echoOutput === undefined ? {} : { echoOutput });
  runtime.register({
    name: "talker",
    logicalId: "TalkerFnAB12CD34",
    codeDir,
    handler: "index.handler",
  });
  return runtime;
}

/** What the test process's stdout and stderr were asked to write while `run` ran. */
async function terminalDuring(run: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  try {
    await run();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written.join("");
}

/** Invokes the fixture's "log" action and waits until its three lines are kept. */
async function logAndWait(runtime: LambdaRuntime, text: string): Promise<string[]> {
  await runtime.invokeJson("talker", { action: "log", text });
  const lines = () => runtime.logs("talker").filter((l) => l.includes(text));
  for (let i = 0; i < 100 && lines().length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  return lines().sort();
}

const runtimes: LambdaRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

describe("Lambda output lines", () => {
  it("are kept for the function and not written to the terminal by default", async () => {
    const runtime = runtimeWith(undefined);
    runtimes.push(runtime);
    let kept: string[] = [];
    const terminal = await terminalDuring(async () => {
      kept = await logAndWait(runtime, "quiet-7f3a");
    });
    expect(kept).toEqual(["console quiet-7f3a", "error quiet-7f3a", "stdout quiet-7f3a"]);
    expect(terminal).not.toContain("quiet-7f3a");
    // Read by logical id (without CDK's hash) as well as by name.
    expect(runtime.logs("TalkerFn")).toEqual(runtime.logs("talker"));
  });

  it("are also written to the terminal with echoOutput on", async () => {
    const runtime = runtimeWith(true);
    runtimes.push(runtime);
    let kept: string[] = [];
    const terminal = await terminalDuring(async () => {
      kept = await logAndWait(runtime, "loud-9c2e");
    });
    expect(kept).toEqual(["console loud-9c2e", "error loud-9c2e", "stdout loud-9c2e"]);
    expect(terminal).toContain("console loud-9c2e");
    expect(terminal).toContain("error loud-9c2e");
    expect(terminal).toContain("stdout loud-9c2e");
  });

  it("stay off with echoOutput false", async () => {
    const runtime = runtimeWith(false);
    runtimes.push(runtime);
    const terminal = await terminalDuring(async () => {
      expect(await logAndWait(runtime, "off-41d0")).toHaveLength(3);
    });
    expect(terminal).not.toContain("off-41d0");
  });
});

/** A stack of one inline function that logs its event's text (deploys without S3 or DynamoDB). */
function inlineAssembly(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-output-lines-"));
  writeFileSync(
    path.join(dir, "manifest.json"),
    JSON.stringify({
      version: "48.0.0",
      artifacts: {
        Lines: { type: "aws:cloudformation:stack", properties: { templateFile: "Lines.json" } },
      },
    }),
  );
  const code = 'exports.handler = async (e) => { console.log("inline " + e.text); return 1; };';
  writeFileSync(
    path.join(dir, "Lines.json"),
    JSON.stringify({
      Resources: {
        Speaker: {
          Type: "AWS::Lambda::Function",
          Properties: { Runtime: "nodejs22.x", Handler: "index.handler", Code: { ZipFile: code } },
        },
      },
    }),
  );
  return dir;
}

describe("deployLocally", () => {
  const nowhere = "http://127.0.0.1:1";
  const deploy = (dir: string, echoLambdaOutput?: boolean) =>
    deployLocally(dir, {
      s3: { endpoint: nowhere, credentials: { accessKeyId: "k", secretAccessKey: "s" } },
      dynamodbEndpoint: nowhere,
      ...(echoLambdaOutput === undefined ? {} : { echoLambdaOutput }),
    });

  it("keeps the deployed functions' lines quiet unless echoLambdaOutput is on", async () => {
    const dir = inlineAssembly();
    try {
      for (const [echo, text] of [
        [undefined, "default-5b1c"],
        [true, "echoed-0d8e"],
      ] as const) {
        const deployment = await deploy(dir, echo);
        try {
          const terminal = await terminalDuring(async () => {
            await deployment.invoke("Speaker", { text });
            for (let i = 0; i < 100; i++) {
              if (deployment.runtime.logs("Speaker").includes(`inline ${text}`)) break;
              await new Promise((r) => setTimeout(r, 10));
            }
          });
          expect(deployment.runtime.logs("Speaker")).toContain(`inline ${text}`);
          if (echo) expect(terminal).toContain(`inline ${text}`);
          else expect(terminal).not.toContain(text);
        } finally {
          await deployment.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("removes the directory it wrote an inline function's code to when it closes", async () => {
    const dir = inlineAssembly();
    const inlineDirs = () =>
      readdirSync(os.tmpdir()).filter((n) => n.startsWith("lakeport-inline-Speaker-"));
    try {
      const before = inlineDirs();
      const deployment = await deploy(dir);
      const written = inlineDirs().filter((n) => !before.includes(n));
      try {
        expect(written).toHaveLength(1);
        expect(readdirSync(path.join(os.tmpdir(), written[0]!))).toEqual(["index.js"]);
        expect(await deployment.invoke("Speaker", { text: "here" })).toBe(1);
      } finally {
        await deployment.close();
      }
      expect(existsSync(path.join(os.tmpdir(), written[0]!))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
