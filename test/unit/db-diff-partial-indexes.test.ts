/**
 * scripts/db-diff.mjs bridges Prisma 7's partial indexes (`where: raw("...")`) to Prisma 6's
 * offline differ: the predicates are taken out of the schema it reads and put back on the
 * statements it writes. The drift test builds its expected database this way, so a predicate lost
 * here would make the expected and the migrated databases disagree, or, worse, agree on nothing.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs script without type declarations
import { takePartialIndexes, withPredicates } from "../../scripts/db-diff.mjs";

const take = takePartialIndexes as (text: string) => { text: string; partials: Map<string, string> };
const put = withPredicates as (sql: string, partials: Map<string, string>) => string;

describe("db-diff partial indexes", () => {
  it("takes each predicate out by the index's name and leaves the rest of the line", () => {
    const schema = [
      "model T {",
      `  @@index([partnerRef], map: "t_partner_ref_idx", where: raw("partner_ref IS NOT NULL"))`,
      `  @@index([state, at], map: "t_state_at_idx", where: raw("state = ANY (ARRAY['a'::s, 'b'::s])"))`,
      "  @@index([amount])",
      "}",
    ].join("\n");
    const { text, partials } = take(schema);
    expect([...partials]).toEqual([
      ["t_partner_ref_idx", "partner_ref IS NOT NULL"],
      ["t_state_at_idx", "state = ANY (ARRAY['a'::s, 'b'::s])"],
    ]);
    expect(text).toContain(`@@index([partnerRef], map: "t_partner_ref_idx")`);
    expect(text).toContain(`@@index([state, at], map: "t_state_at_idx")`);
    expect(text).not.toContain("where:");
  });

  it("keeps an escaped quote inside a predicate", () => {
    const { partials } = take(`  @@index([a], map: "x_idx", where: raw("a <> \\"q\\""))`);
    expect(partials.get("x_idx")).toBe(`a <> "q"`);
  });

  it("refuses a partial index without map: and the object form of where", () => {
    expect(() => take(`  @@index([a], where: raw("a IS NOT NULL"))`)).toThrow(/map:/);
    expect(() => take(`  @@index([a], map: "x_idx", where: { a: { not: null } })`)).toThrow(/raw/);
  });

  it("puts each predicate back on its own CREATE INDEX statement only", () => {
    const sql = [
      `CREATE INDEX "t_partner_ref_idx" ON "t"("partner_ref");`,
      `CREATE UNIQUE INDEX "t_key_key" ON "t"("key");`,
      `CREATE INDEX "t_state_at_idx" ON "t"("state", "at");`,
    ].join("\n");
    const out = put(sql, new Map([["t_partner_ref_idx", "partner_ref IS NOT NULL"], ["t_state_at_idx", "state = 'a'"]]));
    expect(out.split("\n")).toEqual([
      `CREATE INDEX "t_partner_ref_idx" ON "t"("partner_ref") WHERE (partner_ref IS NOT NULL);`,
      `CREATE UNIQUE INDEX "t_key_key" ON "t"("key");`,
      `CREATE INDEX "t_state_at_idx" ON "t"("state", "at") WHERE (state = 'a');`,
    ]);
  });
});
