// The state machine table, its forward paths, and agreement with the database trigger that
// enforces the same edges (read from the migration text, so the two cannot drift apart).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { canTransition, EDGES, forwardPath, isTerminal, TRANSFER_STATES, type TransferState } from "../../server/transfers/state-machine";
import { backoffMs } from "../../server/transfers/rail-policies";

describe("transfer state machine", () => {
  it("terminal states have no way out", () => {
    for (const s of ["failed", "returned", "cancelled"] as TransferState[]) {
      expect(isTerminal(s)).toBe(true);
      expect(EDGES[s]).toEqual([]);
    }
  });

  it("matches the edges the database trigger allows", () => {
    const sql = readFileSync("prisma/migrations/20261121110000_transfers/migration.sql", "utf8");
    const fromDb = new Map<string, string[]>();
    for (const m of sql.matchAll(/OLD\.state = '(\w+)'\s+AND NEW\.state (?:IN \(([^)]+)\)|= '(\w+)')/g)) {
      const targets = m[2] ? [...m[2].matchAll(/'(\w+)'/g)].map((x) => x[1]!) : [m[3]!];
      fromDb.set(m[1]!, targets.sort());
    }
    for (const s of TRANSFER_STATES) expect(fromDb.get(s) ?? []).toEqual([...EDGES[s]].sort());
  });

  it.each([
    ["reserved", "acknowledged", ["submitted", "acknowledged"]],
    ["submitted", "settled", ["acknowledged", "settled"]],
    ["submitted", "returned", ["acknowledged", "settled", "returned"]],
    ["acknowledged", "failed", ["failed"]],
    ["settled", "acknowledged", null],
    ["settled", "failed", null],
    ["failed", "settled", null],
    ["settled", "settled", null],
    ["cancelled", "returned", null],
  ] as [TransferState, TransferState, TransferState[] | null][])("forwardPath(%s, %s) = %j", (from, to, path) => {
    expect(forwardPath(from, to)).toEqual(path);
  });

  it("every step of every forward path is an edge", () => {
    for (const from of TRANSFER_STATES) {
      for (const to of TRANSFER_STATES) {
        let cur = from;
        for (const s of forwardPath(from, to) ?? []) {
          expect(canTransition(cur, s)).toBe(true);
          cur = s;
        }
      }
    }
  });

  it("backs off exponentially with jitter inside [base, cap]", () => {
    const p = { backoffBaseMs: 200, backoffMaxMs: 30_000 };
    expect(backoffMs(p, 1, () => 1)).toBe(200);
    expect(backoffMs(p, 4, () => 1)).toBe(1600);
    expect(backoffMs(p, 4, () => 0)).toBe(200);
    expect(backoffMs(p, 30, () => 1)).toBe(30_000);
  });
});
