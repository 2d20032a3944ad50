/**
 * `npm run lint:dup` (scripts/lint-dup.ts, jscpd) fails on six or more lines of the same shape in
 * two places, and not on a shared block of imports or a shorter repeat. Proved on probe sources
 * written to a temporary folder.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { findClones } from "../../scripts/lint-dup";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A folder with the given files (name → text); returns its path. */
function probe(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "lint-dup-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** `n` lines of a parameter builder, the shape issue 15 found twice. */
function builder(n: number): string {
  const lines = [
    "  const params: unknown[] = [now];",
    "  const where: string[] = [];",
    "  const p = (v: unknown) => {",
    "    params.push(v);",
    "    return `$${params.length}`;",
    "  };",
    "  if (f.currency) where.push(`currency = ${p(f.currency)}`);",
    "  if (f.minimum !== undefined) where.push(`amount >= ${p(f.minimum)}::bigint`);",
  ];
  return lines.slice(0, n).join("\n");
}

const imports = [
  'import type pg from "pg";',
  'import type { DbHandles } from "../db/client";',
  'import { pgRunner } from "../db/sql";',
  'import { runTransaction } from "../db/transaction";',
  'import { appendAudit, type AuditActor } from "../audit/audit-log";',
  'import { AppError } from "../errors/app-error";',
  'import { fromRow, type RowOf } from "../core/rows";',
  'import { decodeKeysetCursor, encodeKeysetCursor } from "../core/keyset-cursor";',
].join("\n");

describe("lint:dup finds six or more lines of the same shape", () => {
  it("reports eight lines of code shared by two modules, with both places", async () => {
    const dir = probe({
      "recon/list.ts": `export function listA(now: Date, f: { currency?: string; minimum?: bigint }) {\n${builder(8)}\n  return { sql: where.join(" AND "), params };\n}\n`,
      "transfers/list.ts": `export function listB(now: Date, f: { currency?: string; minimum?: bigint }, limit: number) {\n  const max = Math.min(limit, 500);\n${builder(8)}\n  return { sql: where.join(" OR "), params, max };\n}\n`,
    });
    const clones = await findClones([dir]);
    expect(clones).toHaveLength(1);
    const files = [clones[0]!.a.file, clones[0]!.b.file].map((f) => path.relative(dir, f)).sort();
    expect(files).toEqual(["recon/list.ts", "transfers/list.ts"]);
    expect(clones[0]!.codeLines).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it("does not report a shared block of imports", async () => {
    const dir = probe({
      "recon/a.ts": `${imports}\n\nexport const a = [pgRunner, runTransaction, appendAudit, AppError, fromRow, decodeKeysetCursor, encodeKeysetCursor];\nexport type A = [pg.Pool, DbHandles, AuditActor, RowOf<{ x: 1 }>];\n`,
      "recon/b.ts": `${imports}\n\nexport function b() {\n  return [runTransaction, pgRunner, fromRow, AppError, appendAudit, encodeKeysetCursor, decodeKeysetCursor].length;\n}\nexport type B = [DbHandles, pg.Pool, RowOf<{ y: 2 }>, AuditActor];\n`,
    });
    // jscpd itself sees the block; the import rule is what leaves it out.
    expect(await findClones([dir], { minLines: 0 })).not.toEqual([]);
    expect(await findClones([dir])).toEqual([]);
  }, 60_000);

  it("does not report a repeat shorter than six lines", async () => {
    const dir = probe({
      "recon/list.ts": `export function listA(now: Date, f: { currency?: string }) {\n${builder(5)}\n  return params;\n}\n`,
      "transfers/list.ts": `export function listB(now: Date, f: { currency?: string }, limit: number) {\n  const max = Math.min(limit, 500);\n${builder(5)}\n  return [params, max];\n}\n`,
    });
    expect(await findClones([dir])).toEqual([]);
  }, 60_000);
});
