// Reference normalization (server/recon/references.ts): the TypeScript rule used at import and
// the SQL rule used for ledger references at match time give the same keys (checked against a
// real PostgreSQL in test/int/recon-matching.int.test.ts); here the TypeScript side.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeReference, referenceKeys } from "../../server/recon/references";

describe("references", () => {
  it.each([
    ["TR-1 abc/2", "tr1abc2"],
    ["  Invoice 7, March ", "invoice7march"],
    ["0B6F0001-1C2D", "0b6f00011c2d"],
    ["Zahlung für Müller", "zahlungfrmller"],
    [null, ""],
  ])("%j -> %j", (v, want) => {
    expect(normalizeReference(v)).toBe(want);
  });

  it("keys are distinct, at least 4 characters, letters and digits only", () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ maxLength: 30 }), { nil: null }), { maxLength: 5 }), (vs) => {
        const keys = referenceKeys(vs);
        expect(new Set(keys).size).toBe(keys.length);
        for (const k of keys) expect(k).toMatch(/^[a-z0-9]{4,}$/);
      }),
    );
  });
});
