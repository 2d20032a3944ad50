/**
 * The outbox API through the tRPC caller, one session per role: permissions (admins only, never a
 * service key), subscriptions shown once and stored encrypted, audit records without secrets,
 * delivery lists with filters and keyset pages, redeliver/skip rules; plus fan-out of unmatched
 * events, retention, the health figures, and the database's own rules on the outbox tables.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { serviceActor, userActor } from "../../server/core/actor";
import { SERVICE_KEY_SCOPES, type RoleName } from "../../server/core/permissions";
import { fanOutEvents } from "../../server/outbox/fanout";
import { pruneOutbox, readOutboxStats } from "../../server/outbox/maintenance";
import { pruneOutboxJob } from "../../server/worker/jobs";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

const as = (roles: RoleName[]) =>
  createCaller({ db, actor: userActor({ id: "00000000-0000-4000-8000-0000000000b1", email: `${roles.join("-")}@example.test`, name: "t", roles }), requestId: "req-outbox-router", ip: null });
const admin = () => as(["admin"]);
/** A key holding every scope a key can hold. */
const serviceKey = () => createCaller({ db, actor: serviceActor({ id: "00000000-0000-4000-8000-0000000000b2", name: "everything", scopes: [...SERVICE_KEY_SCOPES] }), requestId: "req-key", ip: null });

async function insertEvent(topic: string, aggregateId: string): Promise<string> {
  const r = await db.pool.query<{ id: string }>(`INSERT INTO outbox_events (topic, aggregate_id, payload) VALUES ($1, $2, '{}') RETURNING id::text AS id`, [topic, aggregateId]);
  return r.rows[0]!.id;
}

async function appCode(p: Promise<unknown>): Promise<string> {
  const e = (await p.then(
    () => null,
    (err: unknown) => err,
  )) as { code?: string; cause?: { code?: string } } | null;
  if (!e) return "no error";
  return e.cause?.code ?? e.code ?? "unknown";
}

describe("outbox permissions", () => {
  it("refuses viewers, operators, approvers and any service key; admins may read and manage", async () => {
    const input = { name: "perm", url: "http://127.0.0.1:9/hooks", topics: ["transfer.*"] };
    for (const roles of [["viewer"], ["operator"], ["approver"], ["viewer", "operator", "approver"]] as RoleName[][]) {
      await expect(as(roles).outbox.subscriptions.list({})).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(as(roles).outbox.subscriptions.create(input)).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(as(roles).outbox.deliveries.list({})).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(as(roles).outbox.deliveries.redeliver({ deliveryId: "00000000-0000-4000-8000-000000000000", reason: "x" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    }
    await expect(serviceKey().outbox.subscriptions.create(input)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(serviceKey().outbox.deliveries.list({})).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(SERVICE_KEY_SCOPES.some((s) => s.startsWith("outbox:"))).toBe(false);

    const created = await admin().outbox.subscriptions.create(input);
    expect(created.subscription.status).toBe("active");
    expect((await admin().outbox.subscriptions.list({})).map((s) => s.id)).toContain(created.subscription.id);
    await admin().outbox.subscriptions.delete({ id: created.subscription.id, reason: "permission test over" });
  });
});

describe("subscriptions", () => {
  it("shows the secret once, stores it encrypted, and audits every change without it", async () => {
    const { subscription, secret } = await admin().outbox.subscriptions.create({ name: "payouts", url: "https://hooks.payouts.internal/outbox", topics: ["transfer.*", "ledger.hold.*", "transfer.*"], reason: "payouts service needs transfer events" });
    expect(secret).toMatch(/^whsec_/);
    expect(subscription.topics).toEqual(["ledger.hold.*", "transfer.*"]);
    expect(subscription.secretPrefix).toBe(secret.slice(0, 10));
    expect(JSON.stringify(subscription)).not.toContain(secret);
    const listed = await admin().outbox.subscriptions.list({});
    expect(JSON.stringify(listed)).not.toContain(secret);
    const stored = await db.pool.query<{ secret_ciphertext: string }>(`SELECT secret_ciphertext FROM outbox_subscriptions WHERE id = $1`, [subscription.id]);
    expect(stored.rows[0]!.secret_ciphertext).toMatch(/^v1\./);
    expect(stored.rows[0]!.secret_ciphertext).not.toContain(secret.slice(6));

    // A retried create is refused rather than making a twin.
    expect(await appCode(admin().outbox.subscriptions.create({ name: "payouts", url: "https://hooks.payouts.internal/x", topics: ["transfer.*"] }))).toBe("CONFLICT");

    await admin().outbox.subscriptions.pause({ id: subscription.id, reason: "receiver deploy" });
    // Repeating a change that took effect is a no-op (no second audit record).
    expect((await admin().outbox.subscriptions.pause({ id: subscription.id, reason: "again" })).status).toBe("paused");
    await admin().outbox.subscriptions.resume({ id: subscription.id, reason: "deploy done" });
    const deleted = await admin().outbox.subscriptions.delete({ id: subscription.id, reason: "service retired" });
    expect(deleted.status).toBe("deleted");
    expect(await appCode(admin().outbox.subscriptions.resume({ id: subscription.id, reason: "oops" }))).toBe("CONFLICT");
    const afterDelete = await db.pool.query(`SELECT secret_ciphertext FROM outbox_subscriptions WHERE id = $1`, [subscription.id]);
    expect(afterDelete.rows[0]).toEqual({ secret_ciphertext: null });
    expect((await admin().outbox.subscriptions.list({})).map((s) => s.id)).not.toContain(subscription.id);
    expect((await admin().outbox.subscriptions.list({ includeDeleted: true })).map((s) => s.id)).toContain(subscription.id);

    const audit = await db.pool.query<{ action: string; reason: string | null; before: unknown; after: unknown; actor_label: string }>(
      `SELECT action, reason, before, after, actor_label FROM audit_log WHERE target_type = 'outbox_subscription' AND target_id = $1 ORDER BY created_at, id`,
      [subscription.id],
    );
    expect(audit.rows.map((r) => [r.action, r.reason])).toEqual([
      ["outbox.subscription.created", "payouts service needs transfer events"],
      ["outbox.subscription.paused", "receiver deploy"],
      ["outbox.subscription.resumed", "deploy done"],
      ["outbox.subscription.deleted", "service retired"],
    ]);
    expect(audit.rows.every((r) => r.actor_label === "admin@example.test")).toBe(true);
    expect(JSON.stringify(audit.rows)).not.toContain(secret.slice(6));
    expect(audit.rows[0]!.after).toMatchObject({ url: "https://hooks.payouts.internal/outbox", topics: ["ledger.hold.*", "transfer.*"], status: "active" });
  });

  it.each([
    // Checked by the domain (BAD_INPUT, naming the problem) or by the input schema (BAD_REQUEST).
    ["a non-http URL", { url: "ftp://x.internal/" }, "BAD_INPUT"],
    ["a malformed topic pattern", { topics: ["Transfer.*"] }, "BAD_INPUT"],
    ["no topic", { topics: [] }, "BAD_REQUEST"],
    ["an empty name", { name: " " }, "BAD_REQUEST"],
  ])("refuses %s", async (_what, patch, code) => {
    const input = { name: `bad-${_what}`, url: "http://127.0.0.1:9/hooks", topics: ["transfer.*"], ...patch };
    expect(await appCode(admin().outbox.subscriptions.create(input))).toBe(code);
  });

  it("needs a reason for pause, resume and delete, and answers NOT_FOUND for an unknown id", async () => {
    expect(await appCode(admin().outbox.subscriptions.pause({ id: "00000000-0000-4000-8000-00000000dead", reason: "x" }))).toBe("NOT_FOUND");
    expect(await appCode(admin().outbox.subscriptions.pause({ id: "00000000-0000-4000-8000-00000000dead", reason: " " }))).toBe("BAD_REQUEST");
  });
});

describe("fan-out, deliveries, retention", () => {
  it("marks events nobody subscribed to as fanned out without creating work, and fans out matches once", async () => {
    const nobody = await insertEvent("pricing.quote.created", "q-1");
    const r1 = await fanOutEvents(db, { limit: 100 });
    expect(r1).toMatchObject({ hasRun: true, deliveries: 0 });
    expect(r1.events).toBeGreaterThanOrEqual(1);
    const marked = await db.pool.query(`SELECT delivered_at FROM outbox_events WHERE id = $1`, [nobody]);
    expect(marked.rows[0].delivered_at).toBeInstanceOf(Date);
    expect((await db.pool.query(`SELECT 1 FROM outbox_deliveries WHERE event_id = $1`, [nobody])).rowCount).toBe(0);
    expect(await fanOutEvents(db, { limit: 100 })).toEqual({ events: 0, deliveries: 0, hasRun: true });
  });

  it("lists deliveries with filters and keyset pages both ways; redeliver and skip only act on dead ones", async () => {
    const a = await admin().outbox.subscriptions.create({ name: "list-a", url: "http://127.0.0.1:9/a", topics: ["transfer.*"] });
    const b = await admin().outbox.subscriptions.create({ name: "list-b", url: "http://127.0.0.1:9/b", topics: ["transfer.settled"] });
    for (let i = 0; i < 5; i++) await insertEvent("transfer.created", `tr-list-${i}`);
    await insertEvent("transfer.settled", "tr-list-0");
    await fanOutEvents(db, { limit: 100 });

    const backlog = await admin().outbox.subscriptions.list({});
    expect(backlog.find((x) => x.id === a.subscription.id)).toMatchObject({ pendingCount: 6, deadCount: 0 });
    expect(backlog.find((x) => x.id === b.subscription.id)).toMatchObject({ pendingCount: 1, deadCount: 0 });
    expect(backlog.find((x) => x.id === a.subscription.id)!.oldestPendingAt).toBeInstanceOf(Date);
    const all = await admin().outbox.deliveries.list({ limit: 200 });
    expect(all.items.filter((d) => d.subscriptionId === a.subscription.id)).toHaveLength(6);
    expect(all.items.filter((d) => d.subscriptionId === b.subscription.id)).toHaveLength(1);
    const ids = all.items.map((d) => BigInt(d.id));
    expect([...ids].sort((x, y) => (y > x ? 1 : -1))).toEqual(ids);

    const onlyB = await admin().outbox.deliveries.list({ subscriptionId: b.subscription.id });
    expect(onlyB.items.map((d) => [d.topic, d.aggregateId, d.subscriptionName, d.status])).toEqual([["transfer.settled", "tr-list-0", "list-b", "pending"]]);
    expect((await admin().outbox.deliveries.list({ aggregateId: "tr-list-0" })).items).toHaveLength(3);
    expect((await admin().outbox.deliveries.list({ topic: "transfer.*", subscriptionId: a.subscription.id })).items).toHaveLength(6);
    expect((await admin().outbox.deliveries.list({ topic: "transfer.settled" })).items).toHaveLength(2);

    const p1 = await admin().outbox.deliveries.list({ subscriptionId: a.subscription.id, limit: 4 });
    expect(p1.items).toHaveLength(4);
    expect(p1.hasNewer).toBe(false);
    const p2 = await admin().outbox.deliveries.list({ subscriptionId: a.subscription.id, limit: 4, cursor: p1.nextCursor! });
    expect(p2.items).toHaveLength(2);
    expect(p2.nextCursor).toBeNull();
    expect(p2.hasNewer).toBe(true);
    expect(p2.newerCursor).toBeNull(); // the newer page is the first page
    expect(new Set([...p1.items, ...p2.items].map((d) => d.id)).size).toBe(6);

    // Only a dead delivery can be acted on; repeats of an action that took effect change nothing.
    const [d1, d2] = p2.items;
    expect(await appCode(admin().outbox.deliveries.skip({ deliveryId: d1!.deliveryId, reason: "x" }))).toBe("CONFLICT");
    expect((await admin().outbox.deliveries.redeliver({ deliveryId: d1!.deliveryId, reason: "x" })).status).toBe("pending");
    await db.pool.query(`UPDATE outbox_deliveries SET status = 'dead', attempts = 12, finished_at = now(), last_error = 'HTTP 503' WHERE delivery_id = ANY($1::uuid[])`, [[d1!.deliveryId, d2!.deliveryId]]);
    const redelivered = await admin().outbox.deliveries.redeliver({ deliveryId: d1!.deliveryId, reason: "receiver back" });
    expect(redelivered).toMatchObject({ status: "pending", attempts: 0, finishedAt: null, deliveryId: d1!.deliveryId });
    expect((await admin().outbox.subscriptions.list({})).find((x) => x.id === a.subscription.id)).toMatchObject({ pendingCount: 5, deadCount: 1 });
    const skipped = await admin().outbox.deliveries.skip({ deliveryId: d2!.deliveryId, reason: "not needed" });
    expect(skipped.status).toBe("skipped");
    expect((await admin().outbox.deliveries.skip({ deliveryId: d2!.deliveryId, reason: "again" })).status).toBe("skipped");
    expect(await appCode(admin().outbox.deliveries.redeliver({ deliveryId: d2!.deliveryId, reason: "x" }))).toBe("CONFLICT");
    expect(await appCode(admin().outbox.deliveries.redeliver({ deliveryId: "00000000-0000-4000-8000-00000000beef", reason: "x" }))).toBe("NOT_FOUND");
    const audit = await db.pool.query(`SELECT action FROM audit_log WHERE target_type = 'outbox_delivery' ORDER BY id`);
    expect(audit.rows.map((r) => r.action)).toEqual(["outbox.delivery.redelivered", "outbox.delivery.skipped"]);

    // The health figures see the backlog: pending of active subscriptions, and the lag of the oldest.
    await db.pool.query(`UPDATE outbox_events SET created_at = now() - interval '90 seconds' WHERE id = (SELECT min(event_id) FROM outbox_deliveries WHERE status = 'pending')`);
    const stats = await readOutboxStats(db);
    expect(stats.pending).toBe(6); // 5 of a (one redelivered, one skipped), 1 of b
    expect(stats.dead).toBe(0);
    expect(stats.lagSeconds).toBeGreaterThanOrEqual(89);

    // Deleting cancels what was still owed.
    const del = await admin().outbox.subscriptions.delete({ id: a.subscription.id, reason: "test over" });
    expect(del.cancelledDeliveries).toBe(5);
    expect((await readOutboxStats(db)).pending).toBe(1);
    await admin().outbox.subscriptions.delete({ id: b.subscription.id, reason: "test over" });
    expect(await readOutboxStats(db)).toEqual({ lagSeconds: 0, pending: 0, dead: 0 });
  });

  it("prunes finished deliveries and fanned-out events past retention, never pending or dead ones", async () => {
    const s = await admin().outbox.subscriptions.create({ name: "prune", url: "http://127.0.0.1:9/p", topics: ["transfer.*"] });
    const keepPending = await insertEvent("transfer.created", "tr-prune-1");
    const keepDead = await insertEvent("transfer.created", "tr-prune-2");
    const goDelivered = await insertEvent("transfer.created", "tr-prune-3");
    const goUnmatched = await insertEvent("pricing.quote.created", "q-prune");
    await fanOutEvents(db, { limit: 100 });
    await db.pool.query(`UPDATE outbox_deliveries SET status = 'dead', finished_at = now() - interval '30 days' WHERE event_id = $1`, [keepDead]);
    await db.pool.query(`UPDATE outbox_deliveries SET status = 'delivered', delivered_at = now(), finished_at = now() - interval '30 days' WHERE event_id = $1`, [goDelivered]);
    await db.pool.query(`UPDATE outbox_events SET delivered_at = now() - interval '30 days' WHERE id = ANY($1::bigint[])`, [[keepPending, keepDead, goDelivered, goUnmatched]]);

    // Seen from 30 days ago, nothing is past the retention period yet.
    expect(await pruneOutboxJob.run(db, new Date(Date.now() - 30 * 24 * 3600 * 1000))).toEqual({ deliveries: 0, events: 0 });
    // Small batches: the run still finishes the work, batch by batch.
    expect(await pruneOutbox(db, new Date(Date.now() - 7 * 24 * 3600 * 1000), { batchSize: 1 })).toEqual({ deliveries: 1, events: 2 });
    const left = await db.pool.query<{ id: string }>(`SELECT id::text AS id FROM outbox_events WHERE id = ANY($1::bigint[]) ORDER BY id`, [[keepPending, keepDead, goDelivered, goUnmatched]]);
    expect(left.rows.map((r) => r.id)).toEqual([keepPending, keepDead]);
    const deliveries = await db.pool.query(`SELECT status::text AS status FROM outbox_deliveries WHERE subscription_id = $1 ORDER BY event_id`, [s.subscription.id]);
    expect(deliveries.rows.map((r) => r.status)).toEqual(["pending", "dead"]);
  });

  it("the database refuses deleting owed deliveries, changing finished ones, and deleting subscriptions", async () => {
    const s = await admin().outbox.subscriptions.create({ name: "rules", url: "http://127.0.0.1:9/r", topics: ["transfer.*"] });
    const e1 = await insertEvent("transfer.created", "tr-rules-1");
    await fanOutEvents(db, { limit: 100 });
    await expect(db.pool.query(`DELETE FROM outbox_deliveries WHERE event_id = $1`, [e1])).rejects.toThrow(/only finished deliveries may be deleted/);
    await db.pool.query(`UPDATE outbox_deliveries SET status = 'delivered', delivered_at = now(), finished_at = now() WHERE event_id = $1`, [e1]);
    await expect(db.pool.query(`UPDATE outbox_deliveries SET status = 'pending', finished_at = NULL WHERE event_id = $1`, [e1])).rejects.toThrow(/is delivered and cannot change/);
    await expect(db.pool.query(`UPDATE outbox_deliveries SET status = 'dead' WHERE event_id = $1`, [e1])).rejects.toThrow(/cannot change/);
    await expect(db.pool.query(`DELETE FROM outbox_subscriptions WHERE id = $1`, [s.subscription.id])).rejects.toThrow(/refused/);
    await expect(db.pool.query(`UPDATE outbox_subscriptions SET status = 'active', secret_ciphertext = NULL WHERE id = $1`, [s.subscription.id])).rejects.toThrow(/outbox_subscriptions_secret_present/);
    await expect(db.pool.query(`UPDATE outbox_subscriptions SET topics = '{}' WHERE id = $1`, [s.subscription.id])).rejects.toThrow(/outbox_subscriptions_topics_nonempty/);
    await admin().outbox.subscriptions.delete({ id: s.subscription.id, reason: "rules test over" });
    await expect(db.pool.query(`UPDATE outbox_subscriptions SET status = 'active' WHERE id = $1`, [s.subscription.id])).rejects.toThrow(/is deleted and cannot change/);
  });
});
