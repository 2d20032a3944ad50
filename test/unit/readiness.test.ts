/**
 * /api/ready answers without raw database error text (issue 14, point 14): a connection failure
 * or a failing query is reported in fixed words; what the driver said stays in the log.
 */
import { describe, expect, it } from "vitest";
import type pg from "pg";
import { checkReadiness } from "../../server/db/readiness";

const SECRET_TEXT = 'password authentication failed for user "console_owner" on db.internal:5432/ledger';

describe("checkReadiness", () => {
  it("an unreachable database: 503 without the driver's message", async () => {
    const pool = { connect: () => Promise.reject(Object.assign(new Error(SECRET_TEXT), { code: "28P01" })) } as unknown as pg.Pool;
    const r = await checkReadiness(pool);
    expect(r.httpStatus).toBe(503);
    expect(r.body).toMatchObject({ status: "unavailable", database: "unreachable" });
    const text = JSON.stringify(r.body);
    expect(text).not.toContain("console_owner");
    expect(text).not.toContain("db.internal");
    expect(text).not.toContain("28P01");
  });

  it("a database that errors on the migration query: 503 without the error text", async () => {
    let released = 0;
    const client = { query: () => Promise.reject(new Error(`relation "_prisma_migrations" does not exist; ${SECRET_TEXT}`)), release: () => void released++ };
    const pool = { connect: () => Promise.resolve(client) } as unknown as pg.Pool;
    const r = await checkReadiness(pool);
    expect(r.httpStatus).toBe(503);
    expect(r.body).toMatchObject({ status: "unavailable", database: "error" });
    expect(JSON.stringify(r.body)).not.toMatch(/_prisma_migrations|console_owner|db\.internal/);
    expect(released).toBe(1);
  });
});
