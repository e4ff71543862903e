// Size limits of the embedded environment's code: no function (declaration, method, arrow or
// function expression) over 120 lines and no file over 600 lines anywhere in local/. A long
// function is split by phase or by route group, a long file by concept.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { expect, test } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const MAX_FUNCTION_LINES = 120;
const MAX_FILE_LINES = 600;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

interface Measured {
  where: string;
  lines: number;
}

/** Every function-like node with a body, from its first line to its last. */
function measure(file: string): { file: Measured; functions: Measured[] } {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const rel = path.relative(ROOT, file);
  const functions: Measured[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = lineOf(node.getStart(sf));
      const name = ts.isConstructorDeclaration(node)
        ? "constructor"
        : node.name
          ? node.name.getText(sf)
          : "(anonymous)";
      functions.push({ where: `${rel}:${first + 1} ${name}`, lines: lineOf(node.end) - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
  return { file: { where: rel, lines }, functions };
}

const measured = sourceFiles(path.join(ROOT, "local")).map(measure);

test(`no function in local/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
  const long = measured.flatMap((m) => m.functions).filter((f) => f.lines > MAX_FUNCTION_LINES);
  expect(long).toEqual([]);
});

test(`no file in local/ is longer than ${MAX_FILE_LINES} lines`, () => {
  const long = measured.map((m) => m.file).filter((f) => f.lines > MAX_FILE_LINES);
  expect(long).toEqual([]);
});

test("the measure sees every kind of function", () => {
  const file = path.join(ROOT, "local/stepfunctions/runner.ts");
  const names = measure(file).functions.map((f) => f.where.split(" ")[1]);
  // A class method, an arrow function and the constructor are all measured.
  expect(names).toEqual(expect.arrayContaining(["startExecution", "(anonymous)", "constructor"]));
});
