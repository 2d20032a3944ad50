// The keyset cursor every list hands out (server/core/keyset-cursor.ts): what it encodes comes
// back, and anything it did not encode is BAD_INPUT before it reaches SQL.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeKeysetCursor, encodeKeysetCursor, type CursorValueKind } from "../../server/core/keyset-cursor";
import type { AppError } from "../../server/errors/app-error";

const ID = "0b9e3c2a-5d4f-4e6a-9c1b-2f3e4d5c6b7a";
const raw = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("keyset cursor", () => {
  it("decodes what it encoded, for every kind of sort value", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1970-01-01"), max: new Date("9999-12-31"), noInvalidDate: true }), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.uuid(), (d, n, id) => {
        const cases: [CursorValueKind, string][] = [["timestamp", d.toISOString()], ["date", d.toISOString().slice(0, 10)], ["integer", n.toString()]];
        for (const [kind, v] of cases) expect(decodeKeysetCursor(encodeKeysetCursor({ v, id }), kind)).toEqual({ v, id: id.toLowerCase() });
      }),
    );
  });

  it.each([
    ["not base64 JSON", "%%%", "timestamp"],
    ["JSON null", raw(null), "timestamp"],
    ["no id", raw({ v: "2026-01-01T00:00:00.000Z" }), "timestamp"],
    ["an id that is not a UUID", raw({ v: "2026-01-01T00:00:00.000Z", id: "1; DROP TABLE x" }), "timestamp"],
    ["a value that is not a string", raw({ v: 5, id: ID }), "integer"],
    ["a date where a timestamp is sorted", raw({ v: "2026-01-01", id: ID }), "timestamp"],
    ["an impossible date", raw({ v: "2026-13-45", id: ID }), "date"],
    ["a decimal where an integer is sorted", raw({ v: "12.5", id: ID }), "integer"],
    ["a timestamp where an integer is sorted", raw({ v: "2026-01-01T00:00:00.000Z", id: ID }), "integer"],
  ] as const)("refuses %s with BAD_INPUT", (_what, cursor, kind) => {
    expect(() => decodeKeysetCursor(cursor, kind)).toThrow(expect.objectContaining({ code: "BAD_INPUT", message: "cursor is not one this API returned" }) as AppError);
  });
});
