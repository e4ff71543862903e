// Size limits of the source: files and functions past them are split by phase or concern.
// Measured with the TypeScript compiler's parser, so a function is exactly a declaration,
// a method, a constructor, an accessor or an arrow/function expression, however formatted.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export const MAX_FILE_LINES = 600;
export const MAX_FUNCTION_LINES = 120;

export interface SizeViolation {
  /** Relative to the root, with `/`. */
  file: string;
  /** 1-based line where the file or function starts. */
  line: number;
  /** "file", or the function's name as far as the code gives one. */
  what: string;
  lines: number;
  limit: number;
}

const SOURCE = /\.(ts|mts|cts|mjs|cjs|js)$/;

/** Source files below `dirs` (relative to `root`), node_modules and `.d.ts` files left out. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const child = path.posix.join(rel, name);
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else if (SOURCE.test(name) && !name.endsWith(".d.ts")) out.push(child);
    }
  };
  for (const dir of dirs) walk(dir);
  return out.sort();
}

function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

function functionName(node: ts.Node): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) {
    return parent.name.text;
  }
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText();
  return "(anonymous function)";
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node)
  );
}

/** The file and function sizes of one source text over the limits. */
export function sizeViolations(
  file: string,
  text: string,
  limits = { file: MAX_FILE_LINES, fn: MAX_FUNCTION_LINES },
): SizeViolation[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: SizeViolation[] = [];
  const fileLines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
  if (fileLines > limits.file) {
    out.push({ file, line: 1, what: "file", lines: fileLines, limit: limits.file });
  }
  const visit = (node: ts.Node) => {
    if (isFunction(node) && node.body) {
      const start = lineOf(sf, node.getStart(sf));
      const lines = lineOf(sf, node.end) - start + 1;
      if (lines > limits.fn) {
        out.push({ file, line: start, what: functionName(node), lines, limit: limits.fn });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every violation below `dirs` of `root`. */
export function checkSizes(root: string, dirs: readonly string[]): SizeViolation[] {
  return sourceFiles(root, dirs).flatMap((f) =>
    sizeViolations(f, readFileSync(path.join(root, f), "utf8")),
  );
}

export function describeSizeViolation(v: SizeViolation): string {
  return v.what === "file"
    ? `${v.file}: ${v.lines} lines (at most ${v.limit})`
    : `${v.file}:${v.line} ${v.what}: ${v.lines} lines (at most ${v.limit})`;
}
