/**
 * Migration 20261203060000_step_up_throttle moves approvers' step-up counts from the hand-written
 * columns (totp_factors.failed_attempts, locked_at) into rate-limiter-flexible's store: a person
 * locked before the upgrade is still locked after it, a partial count carries over, and the old
 * columns are gone.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { applyMigrations } from "../../server/db/migrate";
import { createDbHandles } from "../../server/db/client";
import { userActor } from "../../server/core/actor";
import { getStepUpStatus, MAX_STEP_UP_FAILURES } from "../../server/auth/step-up";

const MIGRATION = "20261203060000_step_up_throttle";
const created: string[] = [];

afterAll(async () => {
  const c = new pg.Client({ connectionString: inject("pgAdminUrl") });
  await c.connect();
  for (const n of created) await c.query(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
  await c.end();
});

async function emptyDb(): Promise<string> {
  const name = `t_stepmig_${randomBytes(4).toString("hex")}`;
  const c = new pg.Client({ connectionString: inject("pgAdminUrl") });
  await c.connect();
  await c.query(`CREATE DATABASE "${name}"`);
  await c.end();
  created.push(name);
  const u = new URL(inject("pgAdminUrl"));
  u.pathname = `/${name}`;
  return u.toString();
}

describe(`migration ${MIGRATION}`, () => {
  it("carries locks and counts into auth_throttle and drops the old columns", async () => {
    const all = path.resolve(import.meta.dirname, "../../prisma/migrations");
    const before = await mkdtemp(path.join(tmpdir(), "migs-before-"));
    await cp(all, before, { recursive: true });
    await rm(path.join(before, MIGRATION), { recursive: true });
    const url = await emptyDb();
    await applyMigrations(url, { dir: before });

    const people = { locked: randomUUID(), partial: randomUUID(), clean: randomUUID() };
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (const [who, id] of Object.entries(people)) {
        await c.query(`INSERT INTO users (id, email, name, is_active, updated_at) VALUES ($1, $2, $3, true, now())`, [id, `${who}@migration.test`, who]);
      }
      const factor = `INSERT INTO totp_factors (user_id, secret_ciphertext, confirmed_at, failed_attempts, locked_at, created_at, updated_at) VALUES ($1, 'x', now(), $2, $3, now(), now())`;
      await c.query(factor, [people.locked, MAX_STEP_UP_FAILURES, new Date()]);
      await c.query(factor, [people.partial, 2, null]);
      await c.query(factor, [people.clean, 0, null]);

      await rm(before, { recursive: true });
      await applyMigrations(url, { dir: all });

      const rows = await c.query<{ key: string; points: number; expire: string | null }>(`SELECT key, points, expire FROM auth_throttle ORDER BY points DESC`);
      expect(rows.rows).toEqual([
        { key: `auth:person:totp:${people.locked}`, points: MAX_STEP_UP_FAILURES, expire: null },
        { key: `auth:person:totp:${people.partial}`, points: 2, expire: null },
      ]);
      const columns = await c.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'totp_factors' AND column_name IN ('failed_attempts', 'locked_at')`);
      expect(columns.rowCount).toBe(0);
    } finally {
      await c.end();
    }

    // The step-up code reads the carried-over state.
    const handles = createDbHandles(url, { max: 2, applicationName: "test" });
    try {
      const person = (id: string) => userActor({ id, email: `${id}@migration.test`, name: "p", roles: ["approver"] });
      expect(await getStepUpStatus(handles, person(people.locked))).toMatchObject({ isLocked: true, failedAttempts: MAX_STEP_UP_FAILURES });
      expect(await getStepUpStatus(handles, person(people.partial))).toMatchObject({ isLocked: false, failedAttempts: 2 });
      expect(await getStepUpStatus(handles, person(people.clean))).toMatchObject({ isLocked: false, failedAttempts: 0 });
    } finally {
      await handles.prisma.$disconnect().catch(() => {});
      await handles.pool.end();
    }
  });
});
