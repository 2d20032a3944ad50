/**
 * Shared set-up for the approvals integration tests: people with roles, a small ledger, TOTP
 * enrolment computed the way an authenticator app would.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../../server/db/client";
import { serviceActor, userActor, type Actor } from "../../server/core/actor";
import type { Permission, RoleName } from "../../server/core/permissions";
import { confirmTotpEnrolment, startTotpEnrolment } from "../../server/auth/step-up";
import { approveProposal } from "../../server/approvals/proposals";
import { adjustmentKinds } from "../../server/composition";
import { generateTotpCode } from "../../server/auth/totp";
import { fund, openAccount } from "../../server/ledger/testing";
import { createCaller } from "../../server/api/root";

export function person(name: string, roles: RoleName[]): Extract<Actor, { kind: "user" }> {
  return userActor({ id: randomUUID(), email: `${name}-${randomUUID().slice(0, 8)}@approvals.test`, name, roles }) as Extract<Actor, { kind: "user" }>;
}

/**
 * Stores people built with person() as users with their roles (idempotent): approvals count only
 * approvers who are, in the database, active and still hold the role.
 */
export async function registerPeople(db: DbHandles, ...people: Extract<Actor, { kind: "user" }>[]): Promise<void> {
  for (const p of people) {
    await db.pool.query(`INSERT INTO users (id, email, name, is_active, updated_at) VALUES ($1, $2, $3, true, now()) ON CONFLICT (id) DO NOTHING`, [p.userId, p.email, p.name]);
    for (const role of p.roles) await db.pool.query(`INSERT INTO user_roles (user_id, role) VALUES ($1, $2::role) ON CONFLICT DO NOTHING`, [p.userId, role]);
  }
}

/**
 * Has a second person (a fresh, registered, enrolled approver) approve a money-moving service key's
 * activation proposal, as an operator would; returns the approver.
 */
export async function approveKeyActivation(db: DbHandles, proposalId: string | null): Promise<Extract<Actor, { kind: "user" }>> {
  if (!proposalId) throw new Error("the key has no activation proposal: it was active from creation");
  const approver = person("key-approver", ["approver"]);
  await registerPeople(db, approver);
  await enrol(db, approver);
  await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId });
  return approver;
}

/** A key's actor; what it proposes counts as `createdBy`'s (default: a person nobody else is). */
export function serviceKey(name: string, scopes: Permission[], createdBy: string = randomUUID()): Actor {
  return serviceActor({ id: randomUUID(), name, scopes, createdById: createdBy });
}

export function callerAs(db: DbHandles, actor: Actor) {
  return createCaller({ db, actor, requestId: `req-${randomUUID()}`, ip: null });
}

/** Enrols `actor`'s authenticator at `now` and returns its secret (a step-up window is open after). */
export async function enrol(db: DbHandles, actor: Actor, now = new Date()): Promise<string> {
  const { secret } = await startTotpEnrolment(db, actor, { now });
  await confirmTotpEnrolment(db, actor, { code: generateTotpCode(secret, now) }, { now });
  return secret;
}

export interface MiniLedger {
  bank: { id: string; code: string };
  fees: { id: string; code: string };
  wallet: { id: string; code: string };
  other: { id: string; code: string };
}

/** A bank asset, a fee revenue account and two no-overdraft wallets (the first funded). */
export async function miniLedger(db: DbHandles, fundingMinor = 100_00n): Promise<MiniLedger> {
  const tag = randomUUID().slice(0, 8);
  const bank = await openAccount(db, { code: `bank:${tag}`, type: "asset" });
  const fees = await openAccount(db, { code: `ops:fees:${tag}`, type: "revenue" });
  const wallet = await openAccount(db, { code: `customer:${tag}:a`, isNoOverdraft: true });
  const other = await openAccount(db, { code: `customer:${tag}:b`, isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, fundingMinor);
  return { bank, fees, wallet, other };
}

/** A balanced two-posting journal entry payload moving `amount` (decimal) from one account to another. */
export function entryPayload(debitCode: string, creditCode: string, amount: string, description = "correction") {
  return {
    description,
    postings: [
      { accountCode: debitCode, side: "debit" as const, amount },
      { accountCode: creditCode, side: "credit" as const, amount },
    ],
  };
}

/** The AppError code behind a tRPC or domain failure. */
export function appCodeOf(e: unknown): string | undefined {
  const x = e as { code?: string; cause?: { code?: string } } | null;
  return x?.cause?.code ?? x?.code;
}

export async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail, it succeeded");
}
