// The transfers list's URL state: what a URL means (filters, exact amounts, time windows), that a
// view survives the round trip through its href, and that presets are recognised.
import { describe, expect, it } from "vitest";
import {
  matchingPreset,
  readTransferListView,
  toListInput,
  transferListQuery,
  transfersHref,
  TRANSFER_PRESETS,
  type RawParams,
} from "../../components/transfers/transfer-params";
import { formatDuration } from "../../components/transfers/transfer-ui";
import { operationsFor } from "../../components/transfers/operations";

const NOW = new Date("2026-11-21T12:34:56.000Z");

/** Search params as Next.js hands them to a page: repeated keys become arrays. */
function toRaw(query: string): RawParams {
  const raw: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const had = raw[k];
    raw[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  return raw;
}

describe("toListInput: amounts are exact in the currency's decimals", () => {
  const cases: { name: string; raw: RawParams; min?: bigint; max?: bigint; error?: RegExp }[] = [
    { name: "EUR with cents", raw: { currency: "EUR", min: "8.85", max: "1,000.50" }, min: 885n, max: 100050n },
    { name: "EUR trailing zero beyond the exponent", raw: { currency: "EUR", min: "8.850" }, min: 885n },
    { name: "EUR never rounds", raw: { currency: "EUR", min: "8.855" }, error: /more decimals than EUR/ },
    { name: "JPY has no decimals", raw: { currency: "JPY", min: "1200" }, min: 1200n },
    { name: "JPY refuses a fraction", raw: { currency: "JPY", min: "12.5" }, error: /more decimals than JPY/ },
    { name: "BHD has three", raw: { currency: "BHD", max: "1.005" }, max: 1005n },
    { name: "beyond a JS number's exact range", raw: { currency: "EUR", max: "92233720368547758.07" }, max: 9223372036854775807n },
    { name: "an amount needs a currency", raw: { min: "10" }, error: /needs a currency/ },
    { name: "signs are refused", raw: { currency: "EUR", min: "-1" }, error: /negative/ },
    { name: "exponents are refused", raw: { currency: "EUR", min: "1e3" }, error: /plain decimal/ },
    { name: "inverted range", raw: { currency: "EUR", min: "10", max: "9.99" }, error: /greater than maximum/ },
    { name: "unknown currency", raw: { currency: "XXQ", min: "1" }, error: /not a currency/ },
  ];
  it.each(cases)("$name", (c) => {
    const r = toListInput(readTransferListView(c.raw), NOW);
    if (c.error) {
      expect(r.input).toBeNull();
      expect(r.error).toMatch(c.error);
      return;
    }
    expect(r.error).toBeNull();
    expect(r.input?.amountMinMinor).toBe(c.min);
    expect(r.input?.amountMaxMinor).toBe(c.max);
  });
});

describe("toListInput: created windows", () => {
  const cases: { name: string; raw: RawParams; from?: string; to?: string; error?: RegExp }[] = [
    { name: "last hour", raw: { age: "1h" }, from: "2026-11-21T11:34:56.000Z" },
    { name: "last 24 hours", raw: { age: "24h" }, from: "2026-11-20T12:34:56.000Z" },
    { name: "last 7 days", raw: { age: "7d" }, from: "2026-11-14T12:34:56.000Z" },
    { name: "today starts at 00:00 UTC", raw: { age: "today" }, from: "2026-11-21T00:00:00.000Z" },
    { name: "a preset wins over a typed range", raw: { age: "1h", from: "2020-01-01" }, from: "2026-11-21T11:34:56.000Z" },
    { name: "custom range in UTC", raw: { age: "custom", from: "2026-11-20T08:00", to: "2026-11-21" }, from: "2026-11-20T08:00:00.000Z", to: "2026-11-21T00:00:00.000Z" },
    { name: "a typed range without a preset", raw: { from: "2026-11-20" }, from: "2026-11-20T00:00:00.000Z" },
    { name: "bad time", raw: { from: "yesterday" }, error: /not a valid Created from/ },
    { name: "inverted range", raw: { from: "2026-11-21", to: "2026-11-20" }, error: /before Created to/ },
  ];
  it.each(cases)("$name", (c) => {
    const r = toListInput(readTransferListView(c.raw), NOW);
    if (c.error) {
      expect(r.error).toMatch(c.error);
      return;
    }
    expect(r.input?.createdFrom?.toISOString()).toBe(c.from);
    expect(r.input?.createdTo?.toISOString()).toBe(c.to);
  });
});

describe("readTransferListView", () => {
  it("keeps known values only, states in the state machine's order", () => {
    const v = readTransferListView({ state: ["failed", "bogus", "reserved"], rail: "carrier-pigeon", sort: "random", limit: "7", stuck: "1", cursor: "abc$", q: "  ref-1 " });
    expect(v.states).toEqual(["reserved", "failed"]);
    expect(v.rail).toBeUndefined();
    expect(v.sort).toBe("created_desc");
    expect(v.limit).toBe(50);
    expect(v.isStuck).toBe(true);
    expect(v.cursor).toBeUndefined();
    expect(v.q).toBe("ref-1");
  });

  it("accepts comma-separated states as well as repeated params", () => {
    expect(readTransferListView({ state: "submitted,acknowledged" }).states).toEqual(["submitted", "acknowledged"]);
  });

  const views: RawParams[] = [
    {},
    { state: ["reserved", "submitted"], rail: "instant", partner: "sandbox", currency: "EUR", min: "1.00", max: "20", stuck: "1", q: "abc", sort: "amount_asc", limit: "100", cursor: "eyJ2IjoiMSJ9" },
    { age: "custom", from: "2026-11-01T00:00", to: "2026-11-02T00:00" },
  ];
  it.each(views)("round-trips through its href (%o)", (raw) => {
    const v = readTransferListView(raw);
    expect(readTransferListView(toRaw(transferListQuery(v)))).toEqual(v);
  });

  it("drops defaults from the href", () => {
    expect(transfersHref(readTransferListView({ sort: "created_desc", limit: "50" }))).toBe("/transfers");
  });
});

describe("saved filters", () => {
  it.each(TRANSFER_PRESETS)("$label is recognised from its own link, without the cursor", (p) => {
    const raw = toRaw(transfersHref(p.view).split("?")[1] ?? "");
    expect(matchingPreset(readTransferListView(raw))).toBe(p.key);
    expect(matchingPreset(readTransferListView({ ...raw, cursor: "eyJ2IjoiMSJ9" }))).toBe(p.key);
  });

  it("a changed preset is no longer that preset", () => {
    expect(matchingPreset(readTransferListView({ stuck: "1", sort: "created_asc", rail: "batch" }))).toBeNull();
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [45, "45s"],
    [60, "1m"],
    [250, "4m 10s"],
    [3600, "1h"],
    [7500, "2h 5m"],
    [86_400 * 3 + 3600 * 4 + 59, "3d 4h"],
    [-5, "0s"],
  ])("%i s is %s", (s, text) => expect(formatDuration(s)).toBe(text));
});

describe("operationsFor: what each role is offered in each state", () => {
  const operator = { canOperate: true, canPropose: true };
  const operatorWithoutPropose = { canOperate: true, canPropose: false };
  const approver = { canOperate: false, canPropose: false };
  const viewer = { canOperate: false, canPropose: false };
  it.each([
    ["created", operator, ["retry", "cancel", "markFailed"]],
    ["reserved", operator, ["retry", "query", "cancel", "markFailed"]],
    ["submitted", operator, ["query", "forceSettled", "forceFailed"]],
    ["acknowledged", operator, ["query", "forceSettled", "forceFailed"]],
    ["acknowledged", operatorWithoutPropose, ["query"]],
    ["acknowledged", approver, []],
    ["reserved", approver, []],
    ["reserved", viewer, []],
    ["settled", operator, []],
    ["failed", operator, []],
  ] as const)("%s for %o", (state, powers, kinds) => {
    expect(operationsFor(state, powers).map((s) => s.kind)).toEqual(kinds);
  });
});
