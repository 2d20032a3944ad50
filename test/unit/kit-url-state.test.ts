// The console kit's URL state: what a URL means for a list (known params only, invalid values
// dropped, defaults filled in) and that every state survives the round trip through its href.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { defineUrlState, filterQuery, formatSort, param, rawSearchParams } from "../../components/kit/url-state";

const STATES = ["created", "reserved", "settled", "failed"] as const;
const SIZES = [25, 50, 100] as const;

const list = defineUrlState("/things", {
  state: param.many(STATES),
  rail: param.oneOf(["instant", "batch"]),
  currency: param.text({ max: 3, pattern: /^[A-Z]{3}$/, transform: (s) => s.toUpperCase() }),
  isStuck: param.flag({ key: "stuck" }),
  q: param.text({ max: 20 }),
  sort: param.withDefault(param.sort(["created", "amount"]), { id: "created", desc: true }),
  limit: param.withDefault(param.int(SIZES), 50),
  cursor: param.cursor(),
});

describe("read: what a URL means", () => {
  it("fills in defaults when the URL says nothing", () => {
    expect(list.read({})).toEqual({ state: [], isStuck: false, sort: { id: "created", desc: true }, limit: 50 });
  });

  it("drops unknown values instead of guessing, keeps known ones", () => {
    const s = list.read({ state: ["failed", "bogus", "created"], rail: "pigeon", currency: "eur", stuck: "1", sort: "colour_asc", limit: "7", cursor: "abc$", q: "  ref-1 ", extra: "x" });
    expect(s).toEqual({ state: ["created", "failed"], currency: "EUR", isStuck: true, q: "ref-1", sort: { id: "created", desc: true }, limit: 50 });
  });

  it("reads many values as repeated params or comma-separated, in the options' order", () => {
    expect(list.read({ state: "settled,created" }).state).toEqual(["created", "settled"]);
    expect(list.read(rawSearchParams("state=failed&state=reserved&state=failed")).state).toEqual(["reserved", "failed"]);
  });

  it("parses a sort as column and direction", () => {
    expect(list.read({ sort: "amount_asc" }).sort).toEqual({ id: "amount", desc: false });
    expect(list.read({ sort: "amount" }).sort).toEqual({ id: "created", desc: true });
  });

  it("cuts long text to its limit and refuses a text its pattern rejects", () => {
    expect(list.read({ q: "x".repeat(50) }).q).toBe("x".repeat(20));
    expect(list.read({ currency: "EURO" }).currency).toBeUndefined();
  });

  it("takes the first value of a single-valued param", () => {
    expect(list.read({ rail: ["batch", "instant"] }).rail).toBe("batch");
  });

  it("a flag is on only as 1", () => {
    expect(list.read({ stuck: "true" }).isStuck).toBe(false);
    expect(list.read({ stuck: "1" }).isStuck).toBe(true);
  });

  it("accepts only whole numbers of the allowed set", () => {
    expect(list.read({ limit: "100" }).limit).toBe(100);
    expect(list.read({ limit: "1e2" }).limit).toBe(50);
    expect(list.read({ limit: "-25" }).limit).toBe(50);
  });
});

describe("href: a state as a stable link", () => {
  it("leaves defaults and empty values out", () => {
    expect(list.href({ state: [], isStuck: false, sort: { id: "created", desc: true }, limit: 50, q: "" })).toBe("/things");
  });

  it("writes params in declaration order under their URL keys", () => {
    expect(list.href({ cursor: "c1", limit: 25, isStuck: true, state: ["settled", "created"], rail: "batch" })).toBe("/things?state=settled&state=created&rail=batch&stuck=1&limit=25&cursor=c1");
  });

  it("escapes what needs escaping", () => {
    expect(list.query({ q: "a&b=c d" })).toBe("q=a%26b%3Dc+d");
  });

  it("writes a sort as column_direction", () => {
    expect(formatSort({ id: "amount", desc: false })).toBe("amount_asc");
    expect(list.query({ sort: { id: "amount", desc: true } })).toBe("sort=amount_desc");
  });

  it("round-trips every state through its href", () => {
    const state = fc.record(
      {
        state: fc.uniqueArray(fc.constantFrom(...STATES)).map((xs) => STATES.filter((s) => xs.includes(s))),
        rail: fc.constantFrom("instant" as const, "batch" as const),
        currency: fc.constantFrom("EUR", "JPY", "BHD"),
        isStuck: fc.boolean(),
        q: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && s.length > 0),
        sort: fc.record({ id: fc.constantFrom("created" as const, "amount" as const), desc: fc.boolean() }),
        limit: fc.constantFrom(...SIZES),
        cursor: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
      },
      { requiredKeys: ["state", "isStuck", "sort", "limit"] },
    );
    fc.assert(
      fc.property(state, (s) => {
        const back = list.read(rawSearchParams(list.query(s)));
        expect(back).toEqual(s);
      }),
    );
  });
});

describe("filterQuery: what applying a filter form asks for", () => {
  it("leaves empty and blank fields out, trims values, keeps repeated names in order", () => {
    const fields: [string, unknown][] = [
      ["q", "  e2e-stuck-1 "],
      ["rail", ""],
      ["state", "reserved"],
      ["state", "failed"],
      ["min", "   "],
      ["stuck", "1"],
      ["file", { name: "x.csv" }],
    ];
    expect(filterQuery(fields)).toBe("q=e2e-stuck-1&state=reserved&state=failed&stuck=1");
  });

  it("reads back through the list's definition as the filters that were set", () => {
    const s = list.read(rawSearchParams(filterQuery([["state", "failed"], ["rail", "batch"], ["limit", "100"], ["sort", "amount_asc"]])));
    expect(s).toMatchObject({ state: ["failed"], rail: "batch", limit: 100, sort: { id: "amount", desc: false } });
    expect(s.cursor).toBeUndefined();
  });
});
