// Step-up for approvers: approving needs a fresh TOTP code (or a window a good code opened);
// no code, a wrong code, a replayed code and anything after the lock-out are refused; failures
// are counted and committed even though the request fails; admins unlock (audited).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { TRPCError } from "@trpc/server";
import { createTestDb, type TestDb } from "../support/test-db";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { getStepUpStatus, MAX_STEP_UP_FAILURES, STEP_UP_WINDOW_SECONDS, startTotpEnrolment, confirmTotpEnrolment } from "../../server/auth/step-up";
import { generateTotpCode, TOTP_PERIOD_SECONDS } from "../../server/auth/totp";
import { appCodeOf, callerAs, entryPayload, errorOf, miniLedger, person, type MiniLedger } from "./approvals-test-helpers";
import { adjustmentKinds } from "../../server/composition";
import { readApprovalsHealth } from "../../server/approvals/maintenance";

let db: TestDb;
let L: MiniLedger;
const operator = person("omar", ["operator"]);
const admin = person("alex", ["admin"]);
// A fixed clock at the start of a TOTP step, so "the next step" is exact.
const T0 = new Date(Math.ceil(Date.parse("2026-11-21T10:00:00Z") / 30_000) * 30_000);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

beforeAll(async () => {
  db = await createTestDb();
  L = await miniLedger(db);
});
afterAll(async () => {
  await db?.drop();
});

async function propose(now: Date): Promise<string> {
  const p = await proposeAdjustment(db, { kinds: adjustmentKinds, actor: operator, now }, { kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "0.50"), reason: "step-up test", idempotencyKey: `su:${randomUUID()}` });
  return p.id;
}

/** The person's step-up count in rate-limiter-flexible's table (server/auth/throttle.ts StepUpThrottle). */
function throttleRow(userId: string) {
  return db.pool.query<{ points: number; expire: string | null }>(`SELECT points, expire FROM auth_throttle WHERE key = $1`, [`auth:person:totp:${userId}`]);
}

async function securityEvents(userId: string): Promise<string[]> {
  const r = await db.pool.query(`SELECT kind FROM security_events WHERE detail->>'userId' = $1 ORDER BY id`, [userId]);
  return r.rows.map((x) => x.kind);
}

describe("enrolment", () => {
  it("stores the secret encrypted, confirms with a real code, returns recovery codes once", async () => {
    const ada = person("ada", ["approver"]);
    const { secret, uri } = await callerAs(db, ada).approvals.stepUp.startEnrolment();
    expect(uri).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    const row = (await db.pool.query(`SELECT secret_ciphertext FROM totp_factors WHERE user_id = $1`, [ada.userId])).rows[0];
    expect(row.secret_ciphertext).toMatch(/^v1\./);
    expect(row.secret_ciphertext).not.toContain(secret);
    const wrong = await errorOf(callerAs(db, ada).approvals.stepUp.confirmEnrolment({ code: "000000" === generateTotpCode(secret, new Date()) ? "111111" : "000000" }));
    expect(appCodeOf(wrong)).toBe("STEP_UP_INVALID");
    const { recoveryCodes } = await callerAs(db, ada).approvals.stepUp.confirmEnrolment({ code: generateTotpCode(secret, new Date()) });
    expect(recoveryCodes).toHaveLength(10);
    const stored = await db.pool.query(`SELECT code_hash FROM totp_recovery_codes WHERE user_id = $1`, [ada.userId]);
    expect(stored.rows.map((r) => r.code_hash)).not.toContain(recoveryCodes[0]);
    expect(await callerAs(db, ada).approvals.stepUp.status()).toMatchObject({ isEnrolled: true, isLocked: false, failedAttempts: 0, recoveryCodesLeft: 10 });
    expect(appCodeOf(await errorOf(callerAs(db, ada).approvals.stepUp.startEnrolment()))).toBe("CONFLICT");
  });

  it("is for people with the approver role only", async () => {
    expect((await errorOf(callerAs(db, operator).approvals.stepUp.startEnrolment())) as TRPCError).toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("approving needs a fresh code", () => {
  it("refuses without enrolment, without a code, with a wrong code and with a replayed code", async () => {
    const ada = person("ada", ["approver"]);
    const id = await propose(T0);
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: ada, now: at(1) }, { proposalId: id })))).toBe("STEP_UP_REQUIRED");

    const { secret } = await startTotpEnrolment(db, ada, { now: T0 });
    await confirmTotpEnrolment(db, ada, { code: generateTotpCode(secret, T0) }, { now: T0 });
    // The enrolment's code opened a window; after it closes, a code is needed again.
    const afterWindow = at(STEP_UP_WINDOW_SECONDS + 1);
    const noCode = await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: ada, now: afterWindow }, { proposalId: id }));
    expect(appCodeOf(noCode)).toBe("STEP_UP_REQUIRED");
    expect((noCode as { details?: { reason?: string } }).details?.reason).toBe("code_needed");

    const good = generateTotpCode(secret, afterWindow);
    const wrong = good === "123456" ? "654321" : "123456";
    const bad = await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: ada, now: afterWindow }, { proposalId: id, code: wrong }));
    expect(appCodeOf(bad)).toBe("STEP_UP_INVALID");
    expect((await getStepUpStatus(db, ada, afterWindow)).failedAttempts).toBe(1);

    // The enrolment code's own step was used: the same code again is a replay.
    const replay = await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: ada, now: at(1) }, { proposalId: id, code: generateTotpCode(secret, T0) }));
    expect(appCodeOf(replay)).toBe("STEP_UP_INVALID");
    expect((replay as { details?: { reason?: string } }).details?.reason).toBe("replayed");

    const ok = await approveProposal(db, { kinds: adjustmentKinds, actor: ada, now: afterWindow }, { proposalId: id, code: good });
    expect(ok.status).toBe("applied");
    expect((await getStepUpStatus(db, ada, afterWindow)).failedAttempts).toBe(0);

    // A code that approved once cannot approve again, even on another proposal.
    const later = at(STEP_UP_WINDOW_SECONDS * 3);
    const id2 = await propose(later);
    const replay2 = await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: ada, now: new Date(afterWindow.getTime() + 5_000) }, { proposalId: id2, code: good }));
    expect(appCodeOf(replay2)).toBe("STEP_UP_INVALID");
    expect(await securityEvents(ada.userId)).toEqual(["step_up_failed", "step_up_failed", "step_up_failed"]);
  });

  it("one code covers a batch of approvals within the window", async () => {
    const abe = person("abe", ["approver"]);
    const { secret } = await startTotpEnrolment(db, abe, { now: T0 });
    await confirmTotpEnrolment(db, abe, { code: generateTotpCode(secret, T0) }, { now: T0 });
    const t = at(STEP_UP_WINDOW_SECONDS * 2);
    const ids = [await propose(t), await propose(t), await propose(t)];
    await approveProposal(db, { kinds: adjustmentKinds, actor: abe, now: t }, { proposalId: ids[0]!, code: generateTotpCode(secret, t) });
    for (const id of ids.slice(1)) expect((await approveProposal(db, { kinds: adjustmentKinds, actor: abe, now: at(STEP_UP_WINDOW_SECONDS * 2 + 60) }, { proposalId: id })).status).toBe("applied");
  });
});

describe("lock-out", () => {
  it(`locks approvals after ${MAX_STEP_UP_FAILURES} wrong codes, alerts, refuses even a good code, and an admin unlocks (audited)`, async () => {
    const eve = person("eve", ["approver"]);
    const { secret } = await startTotpEnrolment(db, eve, { now: T0 });
    await confirmTotpEnrolment(db, eve, { code: generateTotpCode(secret, T0) }, { now: T0 });
    const t = at(STEP_UP_WINDOW_SECONDS + TOTP_PERIOD_SECONDS * 4);
    const id = await propose(t);
    const good = generateTotpCode(secret, t);
    const wrong = good === "999999" ? "888888" : "999999";
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < MAX_STEP_UP_FAILURES; i++) codes.push(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: eve, now: t }, { proposalId: id, code: wrong }))));
    expect(codes).toEqual([...Array(MAX_STEP_UP_FAILURES - 1).fill("STEP_UP_INVALID"), "STEP_UP_LOCKED"]);
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: eve, now: t }, { proposalId: id, code: good })))).toBe("STEP_UP_LOCKED");
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: eve, now: t }, { proposalId: id })))).toBe("STEP_UP_LOCKED");
    expect(await getStepUpStatus(db, eve, t)).toMatchObject({ isLocked: true, failedAttempts: MAX_STEP_UP_FAILURES, stepUpUntil: null });
    expect((await securityEvents(eve.userId)).filter((k) => k === "step_up_locked")).toHaveLength(1);
    const lockAudit = await db.pool.query(`SELECT action FROM audit_log WHERE action = 'auth.step_up.lock' AND target_id = $1`, [eve.userId]);
    expect(lockAudit.rows).toHaveLength(1);
    // The count lives in rate-limiter-flexible's store (as sign-in's), with no expiry: the lock
    // lifts only when an admin releases it. Refusals while locked are not counted again.
    expect((await throttleRow(eve.userId)).rows).toEqual([{ points: MAX_STEP_UP_FAILURES, expire: null }]);
    // The worker's step_up_locked_users gauge reads the same store.
    expect((await readApprovalsHealth(db, t)).lockedApprovers).toBeGreaterThanOrEqual(1);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM adjustment_decisions WHERE proposal_id = $1`, [id])).rows[0].n).toBe(0);

    const locked = await callerAs(db, admin).approvals.stepUp.locked();
    expect(locked.map((l) => l.userId)).toContain(eve.userId);
    expect(((await errorOf(callerAs(db, eve).approvals.stepUp.unlock({ userId: eve.userId, reason: "me" }))) as TRPCError).code).toBe("FORBIDDEN");
    await callerAs(db, admin).approvals.stepUp.unlock({ userId: eve.userId, reason: "verified by phone, new phone clock fixed" });
    const unlockAudit = await db.pool.query(`SELECT reason, actor_label FROM audit_log WHERE action = 'auth.step_up.unlock' AND target_id = $1`, [eve.userId]);
    expect(unlockAudit.rows).toEqual([{ reason: "verified by phone, new phone clock fixed", actor_label: admin.email }]);
    expect((await throttleRow(eve.userId)).rowCount).toBe(0);
    expect(await callerAs(db, admin).approvals.stepUp.locked()).not.toContainEqual(expect.objectContaining({ userId: eve.userId }));
    const t2 = new Date(t.getTime() + TOTP_PERIOD_SECONDS * 1000);
    expect((await approveProposal(db, { kinds: adjustmentKinds, actor: eve, now: t2 }, { proposalId: id, code: generateTotpCode(secret, t2) })).status).toBe("applied");
  });

  it("counts wrong codes sent at once one by one: exactly one lock, audited once, whatever the interleaving", async () => {
    const gus = person("gus", ["approver"]);
    const { secret } = await startTotpEnrolment(db, gus, { now: T0 });
    await confirmTotpEnrolment(db, gus, { code: generateTotpCode(secret, T0) }, { now: T0 });
    const t = at(STEP_UP_WINDOW_SECONDS + TOTP_PERIOD_SECONDS * 8);
    const id = await propose(t);
    const wrong = generateTotpCode(secret, t) === "111111" ? "222222" : "111111";
    const tries = MAX_STEP_UP_FAILURES + 3;
    const codes = await Promise.all(Array.from({ length: tries }, async () => appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: gus, now: t }, { proposalId: id, code: wrong })))));
    expect(codes.filter((c) => c === "STEP_UP_INVALID")).toHaveLength(MAX_STEP_UP_FAILURES - 1);
    expect(codes.filter((c) => c === "STEP_UP_LOCKED")).toHaveLength(tries - (MAX_STEP_UP_FAILURES - 1));
    expect((await throttleRow(gus.userId)).rows).toEqual([{ points: MAX_STEP_UP_FAILURES, expire: null }]);
    const lockAudit = await db.pool.query(`SELECT after FROM audit_log WHERE action = 'auth.step_up.lock' AND target_id = $1`, [gus.userId]);
    expect(lockAudit.rows).toEqual([{ after: { isLocked: true, failedAttempts: MAX_STEP_UP_FAILURES } }]);
    expect(await getStepUpStatus(db, gus, t)).toMatchObject({ isLocked: true, failedAttempts: MAX_STEP_UP_FAILURES });
  });

  it("accepts a recovery code once instead of a TOTP code", async () => {
    const ida = person("ida", ["approver"]);
    const { secret } = await startTotpEnrolment(db, ida, { now: T0 });
    const { recoveryCodes } = await confirmTotpEnrolment(db, ida, { code: generateTotpCode(secret, T0) }, { now: T0 });
    const t = at(STEP_UP_WINDOW_SECONDS * 4);
    const id = await propose(t);
    expect((await approveProposal(db, { kinds: adjustmentKinds, actor: ida, now: t }, { proposalId: id, code: recoveryCodes[0]!.toUpperCase() })).status).toBe("applied");
    const t2 = at(STEP_UP_WINDOW_SECONDS * 6);
    const id2 = await propose(t2);
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: ida, now: t2 }, { proposalId: id2, code: recoveryCodes[0]! })))).toBe("STEP_UP_INVALID");
    expect((await getStepUpStatus(db, ida, t2)).recoveryCodesLeft).toBe(9);
  });
});
