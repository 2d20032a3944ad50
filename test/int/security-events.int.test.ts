/**
 * security_events stays bounded although anonymous requests feed it (issue 14, point 10): repeats
 * are one row with a count, one address cannot add more than its per-minute share of rows, and
 * the worker's retention job deletes rows older than the configured age; the database allows
 * nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { recordSecurityEvent } from "../../server/auth/security-events";
import { authenticateServiceKey } from "../../server/auth/service-key-auth";
import { pruneSecurityEventsJob } from "../../server/worker/jobs";
import { env } from "../../server/env";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.drop();
});
// The per-address limit counts per kind and client address, in this file's own module instance
// (vitest isolates files): each test uses an address of its own, so each starts with nothing
// counted, and no hook in the production module is needed to forget the counts.

async function rowsFrom(ip: string) {
  return (await t.pool.query<{ kind: string; detail: Record<string, unknown>; count: number }>(`SELECT kind, detail, count FROM security_events WHERE ip = $1 ORDER BY id`, [ip])).rows;
}

describe("aggregation", () => {
  it("fifty refusals of the same bad key from one address are one row counting fifty", async () => {
    const secret = "lk_abcdefgh_" + "A".repeat(43);
    for (let i = 0; i < 50; i++) expect(await authenticateServiceKey(t, secret, "198.51.100.10")).toBeNull();
    const rows = await rowsFrom("198.51.100.10");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "service_key_rejected", detail: { reason: "unknown", prefix: "lk_abcdefgh" }, count: 50 });
  });

  it("events that differ are rows of their own, up to the per-address limit; the rest are counted in one overflow row", async () => {
    const limit = env().SECURITY_EVENTS_MAX_PER_MINUTE;
    const total = limit + 40;
    for (let i = 0; i < total; i++) await recordSecurityEvent(t.prisma, "signin_failed", { method: "credentials", email: `guess${i}@example.test`, reason: "unknown_user" }, "198.51.100.11");
    const rows = await rowsFrom("198.51.100.11");
    // A minute boundary may fall inside the loop: then the limit applies to each minute.
    expect(rows.length).toBeLessThanOrEqual(2 * (limit + 1));
    expect(rows.filter((r) => !r.detail.overflow).length).toBeLessThanOrEqual(total);
    expect(rows.some((r) => r.detail.overflow === true)).toBe(true);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(total);
    // Another address has its own share.
    await recordSecurityEvent(t.prisma, "signin_failed", { method: "credentials", email: "x@example.test", reason: "unknown_user" }, "198.51.100.12");
    expect(await rowsFrom("198.51.100.12")).toHaveLength(1);
  });
});

describe("retention", () => {
  it("the job deletes rows older than SECURITY_EVENTS_RETENTION_DAYS, and only those", async () => {
    const days = env().SECURITY_EVENTS_RETENTION_DAYS;
    const now = new Date();
    const at = (d: number) => new Date(now.getTime() - d * 86_400_000);
    const ids = await t.pool.query<{ id: string }>(
      `INSERT INTO security_events (kind, detail, ip, created_at, last_at)
       VALUES ('signin_failed', '{"n":1}', '192.0.2.1', $1, $1), ('signin_failed', '{"n":2}', '192.0.2.1', $2, $2), ('signin_failed', '{"n":3}', '192.0.2.1', $3, $4)
       RETURNING id::text AS id`,
      [at(days + 1), at(days - 1), at(days + 5), at(1)],
    );
    const result = await pruneSecurityEventsJob.run(t, now);
    expect(result.pruned).toBeGreaterThanOrEqual(1);
    const left = (await t.pool.query<{ id: string }>(`SELECT id::text AS id FROM security_events WHERE id = ANY($1::bigint[])`, [ids.rows.map((r) => r.id)])).rows.map((r) => r.id);
    // The first is past retention; the second is not; the third was created long ago but repeated yesterday.
    expect(left).toEqual([ids.rows[1]!.id, ids.rows[2]!.id]);
  });

  it("the database refuses deleting a recent row, rewriting a row, and truncating the table", async () => {
    const r = await t.pool.query<{ id: string }>(`INSERT INTO security_events (kind, detail, ip) VALUES ('signin_failed', '{}', '192.0.2.2') RETURNING id::text AS id`);
    const id = r.rows[0]!.id;
    await expect(t.pool.query(`DELETE FROM security_events WHERE id = $1`, [id])).rejects.toThrow(/only rows older than a day/);
    await expect(t.pool.query(`UPDATE security_events SET detail = '{"forged":true}' WHERE id = $1`, [id])).rejects.toThrow(/may only add repeats/);
    await expect(t.pool.query(`UPDATE security_events SET count = 0 WHERE id = $1`, [id])).rejects.toThrow(/may only add repeats/);
    await expect(t.pool.query(`TRUNCATE security_events`)).rejects.toThrow(/append-only/);
    await t.pool.query(`UPDATE security_events SET count = count + 1, last_at = now() WHERE id = $1`, [id]);
  });
});
