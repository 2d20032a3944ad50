// The breaks queue's URL state (components/recon/break-params.ts): unknown and malformed params are
// dropped, defaults fill in, a view round-trips through its href, presets are recognised, and the
// list input parses amounts exactly in the chosen currency (or says why not).
import { describe, expect, it } from "vitest";
import { canonicalQuery } from "../../server/core/url-state";
import { BREAK_PRESETS, breakListState, breaksHref, hasBreakFilters, matchingPreset, readBreakListView, toBreakListInput } from "../../components/recon/break-params";

describe("breaks queue URL state", () => {
  it("reads known params, drops the rest, fills defaults", () => {
    const v = readBreakListView({ type: ["duplicate", "nonsense"], age: "8+", currency: "eur", min: "10.50", sort: "weird", limit: "7", cursor: "bad cursor!", evil: "x" });
    expect(v).toEqual({ types: ["duplicate"], statuses: ["open", "timing"], age: "8+", currency: "EUR", min: "10.50", sort: "oldest", limit: 50 });
    expect(hasBreakFilters(readBreakListView({}))).toBe(false);
    expect(hasBreakFilters(v)).toBe(true);
  });

  it("round-trips a view through its href, defaults left out", () => {
    const v = readBreakListView({ type: "amount_mismatch", status: "resolved", assignee: "unassigned", sort: "amount_desc", limit: "100" });
    const href = breaksHref(v);
    expect(href).toBe("/breaks?type=amount_mismatch&status=resolved&assignee=unassigned&sort=amount_desc&limit=100");
    expect(readBreakListView(Object.fromEntries(new URL(`http://x${href}`).searchParams))).toEqual(v);
    expect(breaksHref(readBreakListView({}))).toBe("/breaks");
  });

  it("recognises each preset from its own href", () => {
    for (const p of BREAK_PRESETS) {
      const v = readBreakListView(Object.fromEntries(new URL(`http://x${breaksHref(p.view)}`).searchParams));
      expect(matchingPreset(v)).toBe(p.key);
    }
    expect(matchingPreset(readBreakListView({ currency: "EUR" }))).toBeNull();
  });

  it("parses amounts exactly in the chosen currency, and needs the currency", () => {
    expect(toBreakListInput(readBreakListView({ currency: "JPY", min: "1200", max: "5000" }), null).input).toMatchObject({ currency: "JPY", amountMinMinor: 1200n, amountMaxMinor: 5000n });
    expect(toBreakListInput(readBreakListView({ currency: "EUR", min: "8.85" }), null).input).toMatchObject({ amountMinMinor: 885n });
    expect(toBreakListInput(readBreakListView({ currency: "EUR", min: "8.855" }), null).error).toMatch(/more decimals than EUR allows/);
    expect(toBreakListInput(readBreakListView({ min: "10" }), null).error).toMatch(/choose a currency/);
    expect(toBreakListInput(readBreakListView({ assignee: "me" }), "0b6f0001-1c2d-4e5f-8a9b-000000000001").input).toMatchObject({ assignee: "0b6f0001-1c2d-4e5f-8a9b-000000000001" });
    expect(toBreakListInput(readBreakListView({ assignee: "me" }), null).error).toMatch(/service key/);
  });

  it("keeps a view in one canonical form: junk and the cursor dropped, declaration order, defaults left out", () => {
    const canonical = (q: string) => canonicalQuery(breakListState, q, ["cursor"]);
    expect(canonical("?limit=100&evil=<script>&type=duplicate&type=nonsense&currency=eur&cursor=abc_123&sort=oldest&status=open,timing")).toBe("type=duplicate&currency=EUR&limit=100");
    expect(canonical("assignee=me&status=resolved&status=open")).toBe("status=open&status=resolved&assignee=me");
    expect(canonical("")).toBe("");
    expect(canonical("source=not-a-uuid&age=forever&limit=7")).toBe("");
    // Canonical forms are fixed points, and the cursor survives only when it is not omitted.
    for (const q of ["type=duplicate&currency=EUR&limit=100", "status=open&status=resolved&assignee=me", "age=8%2B&sort=amount_desc"]) expect(canonical(q)).toBe(q);
    expect(canonicalQuery(breakListState, "cursor=abc_123&age=0-1")).toBe("age=0-1&cursor=abc_123");
  });
});
