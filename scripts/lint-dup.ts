/**
 * `npm run lint:dup`: no two places in server/ share six or more lines of the same shape (issue
 * 15). jscpd (docs/decisions.md, "Duplicate code is checked by jscpd") finds the clones of at least
 * DUP_MIN_LINES lines and DUP_MIN_TOKENS tokens; a clone made only of import declarations is not a
 * shape of code and is left out (two modules that use the same helpers import the same lines).
 * Prints each clone with its two places and exits 1 when there is any, 0 when there is none.
 *
 *   node --import tsx scripts/lint-dup.ts [path ...]     (default: server)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import ts from "typescript";
import type * as Jscpd from "jscpd";

// jscpd's ESM build imports named exports from a CommonJS package (colors), which Node refuses;
// its CommonJS build loads.
const { detectClones } = createRequire(import.meta.url)("jscpd") as typeof Jscpd;

export const DUP_MIN_LINES = 6;
/** Six short lines are about 40 tokens; jscpd's default of 50 lets a six-line block of code through. */
export const DUP_MIN_TOKENS = 40;

export interface ClonePlace {
  file: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
}

export interface Clone {
  a: ClonePlace;
  b: ClonePlace;
  /** Lines of the clone outside import declarations (in `a`). */
  codeLines: number;
}

/** The 1-based line numbers covered by the import declarations of a TypeScript source. */
function importLinesOf(file: string, text: string): Set<number> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const lines = new Set<number>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const first = source.getLineAndCharacterOfPosition(statement.getStart(source)).line + 1;
    const last = source.getLineAndCharacterOfPosition(statement.getEnd()).line + 1;
    for (let line = first; line <= last; line++) lines.add(line);
  }
  return lines;
}

/**
 * The clones of at least `minLines` lines of code (import declarations not counted) under
 * `paths`, TypeScript files only, generated code left out.
 */
export async function findClones(paths: readonly string[], opts: { minLines?: number; minTokens?: number } = {}): Promise<Clone[]> {
  const minLines = opts.minLines ?? DUP_MIN_LINES;
  const found = await detectClones({
    path: [...paths],
    format: ["typescript"],
    pattern: "**/*.ts",
    ignore: ["**/generated/**", "**/node_modules/**"],
    minLines,
    minTokens: opts.minTokens ?? DUP_MIN_TOKENS,
    // No file of server/ may be skipped for its size (jscpd's defaults: 1,000 lines, 100 kB).
    maxLines: 100_000,
    maxSize: "10mb",
    silent: true,
    reporters: [],
    absolute: true,
  });
  const importLines = new Map<string, Set<number>>();
  const importsOf = (file: string) => {
    let lines = importLines.get(file);
    if (!lines) importLines.set(file, (lines = importLinesOf(file, readFileSync(file, "utf8"))));
    return lines;
  };
  const clones: Clone[] = [];
  for (const c of found) {
    const a = { file: c.duplicationA.sourceId, startLine: c.duplicationA.start.line, endLine: c.duplicationA.end.line };
    const b = { file: c.duplicationB.sourceId, startLine: c.duplicationB.start.line, endLine: c.duplicationB.end.line };
    // jscpd counts a clone's lines as end - start; so do we, less the lines of imports.
    const imports = importsOf(a.file);
    let importCount = 0;
    for (let line = a.startLine; line <= a.endLine; line++) if (imports.has(line)) importCount++;
    const codeLines = a.endLine - a.startLine - importCount;
    if (codeLines >= minLines) clones.push({ a, b, codeLines });
  }
  return clones;
}

async function main(): Promise<void> {
  const root = path.resolve(import.meta.dirname, "..");
  const args = process.argv.slice(2);
  const paths = (args.length > 0 ? args : ["server"]).map((p) => path.resolve(root, p));
  const clones = await findClones(paths);
  const where = (p: ClonePlace) => `${path.relative(root, p.file)}:${p.startLine}-${p.endLine}`;
  for (const c of clones) console.error(`duplicate code (${c.codeLines} lines): ${where(c.a)} and ${where(c.b)}`);
  if (clones.length > 0) {
    console.error(`lint:dup: ${clones.length} clone(s) of ${DUP_MIN_LINES}+ lines and ${DUP_MIN_TOKENS}+ tokens; move the shared code to one place (docs/decisions.md).`);
    process.exit(1);
  }
  console.log(`lint:dup: no clone of ${DUP_MIN_LINES}+ lines and ${DUP_MIN_TOKENS}+ tokens in ${args.length > 0 ? args.join(", ") : "server"}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
