// Saved views of the breaks queue (savedViews.*) through the tRPC caller, one session per person:
// what is stored is the canonical query (junk and cursor dropped), people see only their own views
// and those shared with them and change only their own, names are unique per person ignoring case,
// a person keeps at most 50 views per list, every refusal is typed, names its field and writes
// nothing, the errors come in their documented order, and the demo seed is idempotent.
import { randomUUID } from "node:crypto";
import type { TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { upsertDemoUser } from "../../server/admin/users";
import { DEMO_USERS } from "../../server/demo/demo-users";
import { DEMO_SAVED_VIEWS, seedDemoSavedViews } from "../../server/demo/seed-views";
import { SAVED_VIEWS_PER_PAGE_MAX } from "../../server/views/saved-views";
import { createTestDb, type TestDb } from "../support/test-db";
import { callerAs, person, registerPeople, serviceKey } from "./approvals-test-helpers";

let db: TestDb;
const olive = person("olive", ["operator"]);
const vic = person("vic", ["viewer"]);
const adam = person("adam", ["admin"]);
const feed = serviceKey("bank-feed", ["recon:read"]);

beforeAll(async () => {
  db = await createTestDb();
  await registerPeople(db, olive, vic, adam);
});
afterAll(async () => db?.drop());

/** How a call was refused: the tRPC code, the domain code, and the field it names (domain or schema). */
async function refusal(p: Promise<unknown>): Promise<{ code: string; appCode: string | null; field: string | null }> {
  const e = await p.then(
    () => null,
    (x: unknown) => x as TRPCError,
  );
  expect(e, "the call was expected to be refused").not.toBeNull();
  const cause = e!.cause;
  if (cause instanceof AppError) return { code: e!.code, appCode: cause.code, field: typeof cause.details?.field === "string" ? cause.details.field : null };
  if (cause instanceof ZodError) return { code: e!.code, appCode: null, field: cause.issues[0]?.path.map(String).join(".") ?? null };
  return { code: e!.code, appCode: null, field: null };
}

/** Everything a refused call could have written: the views and the audit records. */
async function fingerprint(): Promise<string> {
  const views = await db.pool.query(`SELECT id, owner_id, page, name, query, is_shared, updated_at FROM saved_views ORDER BY id`);
  const audit = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM audit_log`);
  return JSON.stringify({ views: views.rows, audit: audit.rows[0]!.n });
}

const breaks = (q: string) => ({ page: "breaks" as const, query: q });

describe("saved views", () => {
  it("stores the view in canonical form (junk and cursor dropped), audited, and lists it as the owner's", async () => {
    const saved = await callerAs(db, olive).savedViews.save({ ...breaks("?limit=100&evil=<b>x</b>&type=duplicate&type=nonsense&cursor=abc_123&currency=eur&sort=oldest"), name: "  EUR duplicates  " });
    expect(saved).toMatchObject({ page: "breaks", name: "EUR duplicates", query: "type=duplicate&currency=EUR&limit=100", isShared: false, isOwn: true, ownerId: olive.userId, ownerName: "olive" });
    const row = (await db.pool.query(`SELECT name, query FROM saved_views WHERE id = $1`, [saved.id])).rows[0];
    expect(row).toEqual({ name: "EUR duplicates", query: "type=duplicate&currency=EUR&limit=100" });
    const audit = (await db.pool.query(`SELECT action, actor_id, after FROM audit_log WHERE target_type = 'saved_view' AND target_id = $1`, [saved.id])).rows;
    expect(audit).toEqual([{ action: "saved_view.save", actor_id: olive.userId, after: { page: "breaks", name: "EUR duplicates", query: "type=duplicate&currency=EUR&limit=100", isShared: false, ownerId: olive.userId } }]);
    expect((await callerAs(db, olive).savedViews.list({ page: "breaks" })).map((v) => v.name)).toContain("EUR duplicates");
  });

  it("keeps people apart: another person neither sees nor changes an unshared view", async () => {
    const mine = await callerAs(db, olive).savedViews.save({ ...breaks("assignee=me"), name: `Private ${randomUUID().slice(0, 6)}` });
    expect((await callerAs(db, vic).savedViews.list({ page: "breaks" })).map((v) => v.id)).not.toContain(mine.id);
    expect((await callerAs(db, feed).savedViews.list({ page: "breaks" })).map((v) => v.id)).not.toContain(mine.id);
    const before = await fingerprint();
    // Not FORBIDDEN: another person's unshared view does not exist for the caller.
    expect(await refusal(callerAs(db, vic).savedViews.rename({ viewId: mine.id, name: "Mine now" }))).toEqual({ code: "NOT_FOUND", appCode: "NOT_FOUND", field: null });
    expect(await refusal(callerAs(db, vic).savedViews.share({ viewId: mine.id, isShared: true }))).toEqual({ code: "NOT_FOUND", appCode: "NOT_FOUND", field: null });
    expect(await refusal(callerAs(db, vic).savedViews.delete({ viewId: mine.id }))).toEqual({ code: "NOT_FOUND", appCode: "NOT_FOUND", field: null });
    expect(await fingerprint()).toBe(before);
    // The same name is free for someone else.
    const theirs = await callerAs(db, vic).savedViews.save({ ...breaks("assignee=me"), name: mine.name });
    expect(theirs.ownerId).toBe(vic.userId);
  });

  it("shows a shared view to everyone with recon:read, read-only; the owner renames, unshares and deletes it", async () => {
    const name = `Team queue ${randomUUID().slice(0, 6)}`;
    const view = await callerAs(db, olive).savedViews.save({ ...breaks("age=8%2B&sort=amount_desc"), name, isShared: true });
    for (const reader of [vic, adam, feed]) {
      const seen = (await callerAs(db, reader).savedViews.list({ page: "breaks" })).find((v) => v.id === view.id);
      expect(seen).toMatchObject({ name, query: "age=8%2B&sort=amount_desc", isShared: true, isOwn: false, ownerName: "olive" });
    }
    const before = await fingerprint();
    expect(await refusal(callerAs(db, vic).savedViews.rename({ viewId: view.id, name: "Hijacked" }))).toEqual({ code: "FORBIDDEN", appCode: "FORBIDDEN", field: null });
    expect(await refusal(callerAs(db, adam).savedViews.share({ viewId: view.id, isShared: false }))).toEqual({ code: "FORBIDDEN", appCode: "FORBIDDEN", field: null });
    expect(await refusal(callerAs(db, vic).savedViews.delete({ viewId: view.id }))).toEqual({ code: "FORBIDDEN", appCode: "FORBIDDEN", field: null });
    expect(await fingerprint()).toBe(before);

    const renamed = await callerAs(db, olive).savedViews.rename({ viewId: view.id, name: `${name} (old)` });
    expect(renamed).toMatchObject({ id: view.id, name: `${name} (old)`, query: view.query });
    await callerAs(db, olive).savedViews.share({ viewId: view.id, isShared: false });
    expect((await callerAs(db, vic).savedViews.list({ page: "breaks" })).map((v) => v.id)).not.toContain(view.id);
    await callerAs(db, olive).savedViews.delete({ viewId: view.id });
    expect((await callerAs(db, olive).savedViews.list({ page: "breaks" })).map((v) => v.id)).not.toContain(view.id);
    const actions = (await db.pool.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [view.id])).rows.map((r) => r.action);
    expect(actions).toEqual(["saved_view.save", "saved_view.rename", "saved_view.share", "saved_view.delete"]);
  });

  it("refuses a duplicate name (ignoring case) on save and rename, naming the field", async () => {
    const name = `Dup ${randomUUID().slice(0, 6)}`;
    await callerAs(db, olive).savedViews.save({ ...breaks("type=duplicate"), name });
    const other = await callerAs(db, olive).savedViews.save({ ...breaks("type=statement_gap"), name: `${name} 2` });
    const before = await fingerprint();
    expect(await refusal(callerAs(db, olive).savedViews.save({ ...breaks("type=amount_mismatch"), name: name.toUpperCase() }))).toEqual({ code: "CONFLICT", appCode: "CONFLICT", field: "name" });
    expect(await refusal(callerAs(db, olive).savedViews.rename({ viewId: other.id, name: ` ${name.toLowerCase()} ` }))).toEqual({ code: "CONFLICT", appCode: "CONFLICT", field: "name" });
    expect(await fingerprint()).toBe(before);
    // Changing the case of its own name is a rename, not a clash with itself.
    expect((await callerAs(db, olive).savedViews.rename({ viewId: other.id, name: `${name} 2`.toUpperCase() })).name).toBe(`${name} 2`.toUpperCase());
  });

  it("the table itself refuses what the name rule refuses, in any locale (C0, DEL, C1, line and paragraph separators)", async () => {
    for (const bad of ["a\tb", "a\u007Fb", "a\u0085b", "a\u2028b", "a\u2029b"]) {
      await expect(db.pool.query(`INSERT INTO saved_views (owner_id, page, name, query) VALUES ($1, 'breaks', $2, '')`, [olive.userId, bad])).rejects.toThrow(/saved_views_name_check/);
    }
    const ok = await db.pool.query<{ id: string }>(`INSERT INTO saved_views (owner_id, page, name, query) VALUES ($1, 'breaks', $2, '') RETURNING id`, [olive.userId, `Plain é ${randomUUID().slice(0, 6)}`]);
    await db.pool.query(`DELETE FROM saved_views WHERE id = $1`, [ok.rows[0]!.id]);
  });

  it("lists no shared view of a deactivated person", async () => {
    const gone = person(`gone-${randomUUID().slice(0, 6)}`, ["operator"]);
    await registerPeople(db, gone);
    const name = `Shared by the departed ${randomUUID().slice(0, 6)}`;
    await callerAs(db, gone).savedViews.save({ ...breaks("type=duplicate"), name, isShared: true });
    expect((await callerAs(db, vic).savedViews.list({ page: "breaks" })).map((v) => v.name)).toContain(name);
    await db.pool.query(`UPDATE users SET is_active = false WHERE id = $1`, [gone.userId]);
    expect((await callerAs(db, vic).savedViews.list({ page: "breaks" })).map((v) => v.name)).not.toContain(name);
  });

  it("only one of concurrent saves under one name succeeds", async () => {
    const name = `Race ${randomUUID().slice(0, 6)}`;
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => callerAs(db, olive).savedViews.save({ ...breaks(`limit=${[25, 100, 200][i % 3]}`), name: i % 2 ? name : name.toLowerCase() })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM saved_views WHERE owner_id = $1 AND lower(name) = lower($2)`, [olive.userId, name])).rows[0].n)).toBe(1);
  });

  it.each([
    ["an empty name", { name: "" }, "name"],
    ["a blank name", { name: "   " }, "name"],
    ["a name over 60 characters", { name: "x".repeat(61) }, "name"],
    ["a name with a bell character", { name: "a\u0007b" }, "name"],
    ["a name with a tab", { name: "two\tcolumns" }, "name"],
    ["a name with a line break", { name: "two\nlines" }, "name"],
    ["a name with NUL", { name: "nul\u0000" }, "name"],
    ["a name with a line separator", { name: "two\u2028lines" }, "name"],
    ["a name with a paragraph separator", { name: "two\u2029parts" }, "name"],
    ["a list without saved views", { page: "transfers" }, "page"],
    ["a query over 2000 characters", { query: `currency=EUR&${"x".repeat(2000)}` }, "query"],
    ["an unknown field", { owner: "someone-else" }, ""],
  ])("refuses %s with a typed error naming the field, and writes nothing", async (_label, change, field) => {
    const before = await fingerprint();
    const r = await refusal(callerAs(db, olive).savedViews.save({ ...breaks("type=duplicate"), name: `Fine ${randomUUID().slice(0, 6)}`, ...change } as never));
    expect(r.code).toBe("BAD_REQUEST");
    expect(r.field ?? "").toBe(field);
    expect(await fingerprint()).toBe(before);
  });

  it("accepts a name of exactly 60 characters, counted in characters rather than UTF-16 units", async () => {
    const name = `${"é".repeat(30)}${"😀".repeat(29)}${randomUUID().slice(0, 1)}`;
    expect([...name]).toHaveLength(60);
    expect((await callerAs(db, vic).savedViews.save({ ...breaks(""), name })).name).toBe(name);
  });

  it(`caps a person at ${SAVED_VIEWS_PER_PAGE_MAX} views of a list with LIMIT_REACHED, and writes nothing past it`, async () => {
    const full = person("fay", ["operator"]);
    await registerPeople(db, full);
    for (let i = 0; i < SAVED_VIEWS_PER_PAGE_MAX; i++) await callerAs(db, full).savedViews.save({ ...breaks(`limit=${i % 2 ? 25 : 100}`), name: `View ${i}` });
    const before = await fingerprint();
    expect(await refusal(callerAs(db, full).savedViews.save({ ...breaks("type=duplicate"), name: "One too many" }))).toEqual({ code: "UNPROCESSABLE_CONTENT", appCode: "LIMIT_REACHED", field: null });
    expect(await fingerprint()).toBe(before);
    // The cap is per person: someone else still saves; and deleting one makes room again.
    await callerAs(db, vic).savedViews.save({ ...breaks("type=duplicate"), name: `Room ${randomUUID().slice(0, 6)}` });
    const [first] = await callerAs(db, full).savedViews.list({ page: "breaks" });
    await callerAs(db, full).savedViews.delete({ viewId: first!.id });
    expect((await callerAs(db, full).savedViews.save({ ...breaks("type=duplicate"), name: "One too many" })).name).toBe("One too many");
  });

  it("checks in the documented order: page, person, name, query, duplicate, cap", async () => {
    const full = person("finn", ["operator"]);
    await registerPeople(db, full);
    for (let i = 0; i < SAVED_VIEWS_PER_PAGE_MAX; i++) await callerAs(db, full).savedViews.save({ ...breaks(""), name: `V${i}` });
    const long = "x".repeat(2001);
    const cases: [string, Parameters<ReturnType<typeof callerAs>["savedViews"]["save"]>[0], ReturnType<typeof callerAs>, { appCode: string; field: string | null }][] = [
      // The transport's shape checks come first (a list outside SAVED_VIEW_PAGE_KEYS, an over-long query), by field.
      ["the page, before anything else", { page: "transfers" as never, name: "", query: long }, callerAs(db, feed), { appCode: "BAD_INPUT", field: "page" }],
      ["a service key, before the name", { page: "breaks", name: "", query: "" }, callerAs(db, feed), { appCode: "FORBIDDEN", field: null }],
      ["the name, before the query", { page: "breaks", name: "", query: long }, callerAs(db, full), { appCode: "BAD_INPUT", field: "name" }],
      ["a duplicate, before the cap", { page: "breaks", name: "v0", query: "" }, callerAs(db, full), { appCode: "CONFLICT", field: "name" }],
      ["the cap", { page: "breaks", name: "V50", query: "" }, callerAs(db, full), { appCode: "LIMIT_REACHED", field: null }],
    ];
    for (const [label, input, caller, expected] of cases) {
      const r = await refusal(caller.savedViews.save(input));
      expect({ label, appCode: r.appCode ?? "BAD_INPUT", field: r.field }, label).toEqual({ label, ...expected });
    }
  });

  it("refuses service keys any change: their views would belong to no one", async () => {
    expect(await refusal(callerAs(db, feed).savedViews.save({ ...breaks("type=duplicate"), name: "Key view" }))).toEqual({ code: "FORBIDDEN", appCode: "FORBIDDEN", field: null });
  });
});

describe("demo saved views", () => {
  it("gives the demo operator their views once; a second run changes nothing", async () => {
    const seedDb = await createTestDb();
    try {
      for (const u of DEMO_USERS.filter((d) => d.email === "operator@demo.local")) await upsertDemoUser(seedDb, u);
      expect(await seedDemoSavedViews(seedDb)).toBe(`saved views: ${DEMO_SAVED_VIEWS.length} for the demo operator`);
      const snapshot = async () => (await seedDb.pool.query(`SELECT v.id, v.name, v.query, v.is_shared, v.updated_at, u.email FROM saved_views v JOIN users u ON u.id = v.owner_id ORDER BY v.name`)).rows;
      const first = await snapshot();
      expect(first.map((r) => ({ name: r.name, query: r.query, isShared: r.is_shared, email: r.email }))).toEqual([
        { name: "Large EUR breaks", query: "currency=EUR&min=100.00&sort=amount_desc", isShared: true, email: "operator@demo.local" },
        { name: "My open mismatches", query: "type=amount_mismatch&type=currency_mismatch&assignee=me", isShared: false, email: "operator@demo.local" },
      ]);
      expect(await seedDemoSavedViews(seedDb)).toBe("saved views: the demo operator has some already");
      expect(await snapshot()).toEqual(first);
    } finally {
      await seedDb.drop();
    }
  });
});
