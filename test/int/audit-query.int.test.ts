/**
 * The audit log's read side: every filter, keyset pagination both ways (no duplicates, no gaps),
 * input errors, and the tRPC procedures' permission.
 */
import { runAuditVerification } from "../../server/audit/verification-runs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { appendAudit, type AuditInput } from "../../server/audit/audit-log";
import { listAudit, getAuditRecord, readAuditPage, type AuditFilters } from "../../server/audit/query";
import { pgRunner } from "../../server/db/sql";
import { createCaller } from "../../server/api/root";
import { userActor, serviceActor, type Actor } from "../../server/core/actor";

let t: TestDb;

const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const N = 45;

interface Seeded {
  id: string;
  input: AuditInput;
}
const seeded: Seeded[] = [];

function inputOf(i: number): AuditInput {
  const actors = [
    { type: "user" as const, id: "11111111-1111-4111-8111-111111111111", label: "Ada@Example.com" },
    { type: "user" as const, id: "22222222-2222-4222-8222-222222222222", label: "bob@example.com" },
    { type: "service" as const, id: "33333333-3333-4333-8333-333333333333", label: "service:payouts" },
  ];
  const actions = ["users.set_roles", "users.set_active", "service_keys.create", "accounts.freeze"];
  return {
    actor: actors[i % 3]!,
    action: actions[i % 4]!,
    targetType: i % 4 === 3 ? "account" : i % 4 === 2 ? "service_key" : "user",
    targetId: `target-${i % 5}`,
    reason: `because ${i}`,
    before: { n: i },
    after: { n: i + 1 },
    // One record an hour, so time filters have exact boundaries.
    at: new Date(T0 + i * 3_600_000),
  };
}

/** The expected result of a filter, computed from what was written, newest first. */
function expected(f: AuditFilters): string[] {
  return seeded
    .filter(({ input: r }) => {
      if (f.actorId && r.actor.id !== f.actorId) return false;
      if (f.actorLabel && !r.actor.label.toLowerCase().includes(f.actorLabel.toLowerCase())) return false;
      if (f.action && (f.action.endsWith("*") ? !r.action.startsWith(f.action.slice(0, -1)) : r.action !== f.action)) return false;
      if (f.targetType && r.targetType !== f.targetType) return false;
      if (f.targetId && r.targetId !== f.targetId) return false;
      if (f.from && r.at! < f.from) return false;
      if (f.to && r.at! >= f.to) return false;
      return true;
    })
    .map((s) => s.id)
    .sort((a, b) => Number(BigInt(b) - BigInt(a)));
}

async function readAll(f: AuditFilters, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await listAudit(t.prisma, f, { cursor, limit });
    pages.push(page.items.map((r) => r.id));
    if (!page.nextCursor) return pages;
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not end");
}

beforeAll(async () => {
  t = await createTestDb();
  for (let i = 0; i < N; i++) {
    const input = inputOf(i);
    const c = await t.pool.connect();
    try {
      await c.query("BEGIN");
      const { id } = await appendAudit(pgRunner(c), input);
      await c.query("COMMIT");
      seeded.push({ id, input });
    } finally {
      c.release();
    }
  }
});

afterAll(async () => {
  await t?.drop();
});

describe("listAudit filters", () => {
  const cases: [string, AuditFilters][] = [
    ["no filter", {}],
    ["actor id", { actorId: "22222222-2222-4222-8222-222222222222" }],
    ["actor label, case-insensitive substring", { actorLabel: "ada@example" }],
    ["actor label of a service", { actorLabel: "service:" }],
    ["exact action", { action: "users.set_roles" }],
    ["action prefix", { action: "users.*" }],
    ["target type", { targetType: "service_key" }],
    ["target type and id", { targetType: "user", targetId: "target-0" }],
    ["from (inclusive)", { from: new Date(T0 + 40 * 3_600_000) }],
    ["to (exclusive)", { to: new Date(T0 + 3 * 3_600_000) }],
    ["time window and actor", { from: new Date(T0 + 10 * 3_600_000), to: new Date(T0 + 20 * 3_600_000), actorLabel: "bob" }],
    ["nothing matches", { action: "no.such.action" }],
  ];

  it.each(cases)("%s", async (_name, f) => {
    const want = expected(f);
    const page = await listAudit(t.prisma, f, { limit: 200 });
    expect(page.items.map((r) => r.id)).toEqual(want);
    expect(page.nextCursor).toBeNull();
  });

  it("the cases are not vacuous", () => {
    const sizes = cases.map(([, f]) => expected(f).length);
    expect(sizes[0]).toBe(N);
    expect(sizes.slice(1, -1).every((n) => n > 0 && n < N)).toBe(true);
    expect(sizes.at(-1)).toBe(0);
  });
});

describe("keyset pagination", () => {
  it.each([
    [1, {}],
    [7, {}],
    [45, {}],
    [200, {}],
    [4, { actorLabel: "bob" }],
    [3, { action: "users.*", from: new Date(T0 + 5 * 3_600_000) }],
  ] as [number, AuditFilters][])("limit %i with %j walks every record once, newest first", async (limit, f) => {
    const pages = await readAll(f, limit);
    const ids = pages.flat();
    expect(ids).toEqual(expected(f));
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of pages.slice(0, -1)) expect(p).toHaveLength(limit);
  });

  it("Newer walks back over the same pages", async () => {
    const f: AuditFilters = { actorLabel: "example.com" };
    const limit = 5;
    const forward: { cursor: string | undefined; ids: string[] }[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await readAuditPage(t.prisma, f, { cursor, limit });
      forward.push({ cursor, ids: page.items.map((r) => r.id) });
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(forward.length).toBeGreaterThan(3);
    const first = await readAuditPage(t.prisma, f, { limit });
    expect(first.hasNewer).toBe(false);
    for (let i = forward.length - 1; i > 0; i--) {
      const page = await readAuditPage(t.prisma, f, { cursor: forward[i]!.cursor, limit });
      expect(page.hasNewer).toBe(true);
      expect(page.newerCursor ?? undefined).toBe(forward[i - 1]!.cursor);
    }
  });

  it.each([
    [{ limit: 0 }, /limit 0/],
    [{ limit: 201 }, /limit 201/],
    [{ cursor: "abc" }, /cursor "abc"/],
    [{ cursor: "-1" }, /cursor "-1"/],
  ])("refuses %j", async (page, message) => {
    await expect(listAudit(t.prisma, {}, page)).rejects.toMatchObject({ code: "BAD_INPUT", message: expect.stringMatching(message) });
  });

  it("refuses a time window that ends before it starts", async () => {
    await expect(listAudit(t.prisma, { from: new Date(T0 + 1000), to: new Date(T0) }, {})).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});

describe("getAuditRecord", () => {
  it("returns a record with before, after and hashes", async () => {
    const s = seeded[7]!;
    const r = await getAuditRecord(t.prisma, s.id);
    expect(r).toMatchObject({ id: s.id, action: s.input.action, before: { n: 7 }, after: { n: 8 }, createdAt: s.input.at });
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.prevHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reports an unknown id as NOT_FOUND", async () => {
    await expect(getAuditRecord(t.prisma, "999999")).rejects.toMatchObject({ code: "NOT_FOUND", message: "audit record 999999 does not exist" });
  });
});

describe("the audit router", () => {
  const viewer = userActor({ id: "44444444-4444-4444-8444-444444444444", email: "viewer@example.com", name: "Vi", roles: ["viewer"] });
  const keyWithoutAudit = serviceActor({ id: "55555555-5555-4555-8555-555555555555", name: "ledger-only", scopes: ["ledger:read"] });
  const caller = (actor: Actor | null) => createCaller({ db: { pool: t.pool, prisma: t.prisma }, actor, requestId: "test", ip: null });

  it("lets a viewer list, get and verify", async () => {
    const page = await caller(viewer).audit.list({ limit: 10, action: "users.*" });
    expect(page.items.map((r) => r.id)).toEqual(expected({ action: "users.*" }).slice(0, 10));
    expect((await caller(viewer).audit.get({ id: seeded[0]!.id })).id).toBe(seeded[0]!.id);
    // audit.verify reads the worker's last run (issue 14, point 9); the run is the worker's job.
    expect(await caller(viewer).audit.verify()).toEqual({ last: null, isPending: false });
    await runAuditVerification(t, { trigger: "schedule" });
    expect((await caller(viewer).audit.verify()).last).toMatchObject({ isIntact: true, checkedCount: N });
  });

  it.each([
    [null, "UNAUTHORIZED"],
    [keyWithoutAudit, "FORBIDDEN"],
  ] as [Actor | null, string][])("refuses %# with %s", async (actor, code) => {
    await expect(caller(actor).audit.list({})).rejects.toMatchObject({ code });
    await expect(caller(actor).audit.verify()).rejects.toMatchObject({ code });
  });

  it("names the offending field of malformed input", async () => {
    await expect(caller(viewer).audit.list({ limit: 500 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(caller(viewer).audit.get({ id: "x" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});
