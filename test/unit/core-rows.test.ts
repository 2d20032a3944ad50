// Rows and objects by one naming rule (server/core/rows.ts): fromRow renames every column to its
// field and leaves values alone; RowOf names the same columns at the type level.
import { describe, expect, expectTypeOf, it } from "vitest";
import { fromRow, type RowOf, type SnakeCase } from "../../server/core/rows";

interface Thing {
  id: string;
  ledgerAccountId: string;
  isNoOverdraft: boolean;
  latencyMsP99: number | null;
  createdAt: Date;
  metadata: Record<string, unknown>;
}

describe("rows", () => {
  it("names a field's column in snake_case, digits where they are", () => {
    expectTypeOf<SnakeCase<"ledgerAccountId">>().toEqualTypeOf<"ledger_account_id">();
    expectTypeOf<SnakeCase<"latencyMsP99">>().toEqualTypeOf<"latency_ms_p99">();
    expectTypeOf<SnakeCase<"id">>().toEqualTypeOf<"id">();
    expectTypeOf<keyof RowOf<Thing>>().toEqualTypeOf<"id" | "ledger_account_id" | "is_no_overdraft" | "latency_ms_p99" | "created_at" | "metadata">();
  });

  it("renames every column of a row to its field and keeps the values as they are", () => {
    const at = new Date("2026-11-20T10:00:00Z");
    const meta = { nested_key: 1 };
    const row: RowOf<Thing> = { id: "a", ledger_account_id: "b", is_no_overdraft: false, latency_ms_p99: null, created_at: at, metadata: meta };
    const thing = fromRow<Thing>(row);
    expect(thing).toStrictEqual({ id: "a", ledgerAccountId: "b", isNoOverdraft: false, latencyMsP99: null, createdAt: at, metadata: { nested_key: 1 } });
    expect(thing.createdAt).toBe(at);
    expect(thing.metadata).toBe(meta);
  });
});
