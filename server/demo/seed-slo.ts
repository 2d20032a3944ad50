/**
 * The demo week's partner incident, so the SLO pages show a breach, a burned budget and a blast
 * radius on the first start: two days before the seed, the sandbox partner's instant rail is down
 * for an hour (every submission answered 503 until the transfer's retries run out), and three
 * hours later it settles slowly for two hours (minutes instead of seconds). An incident records
 * the outage (resolved, with its blast radius linked); the slow period is left for the on-call
 * person to find on the dashboard and open an incident from.
 *
 * Invariants kept:
 * - Only the domains' own functions write (createTransfer with a past clock, advanceTransfer with
 *   a partner that answers as the bank did, applyPartnerEvent, openIncident), so every money rule
 *   and every rollup holds for demo data too.
 * - Idempotent: fixed keys ("demo:slo:outage:NN", "demo:slo:slow:NN"); a transfer that exists is
 *   carried on from its state; the incident is opened once (by its title). The default objectives
 *   are created, the partner samples back-filled and the rollups folded at the end.
 * - Amounts are small fixed EUR payments from the demo's EUR wallets, at most a tenth of what a
 *   wallet has, so nothing is refused for funds.
 */
import type { DbHandles } from "../db/client";
import { userActor, type Actor } from "../core/actor";
import { componentLogger } from "../observability/logger";
import { isAppError } from "../errors/app-error";
import type { PartnerAdapter, SubmitOutcome } from "../partners/types";
import { createTransfer } from "../transfers/create";
import { advanceTransfer } from "../transfers/orchestrator";
import { applyPartnerEvent } from "../transfers/partner-events";
import { ensureDefaultSlos } from "../slo/definitions";
import { backfillPartnerMinutes } from "../slo/partner-health";
import { foldRollups } from "../slo/rollup";
import { evaluateAndPublish } from "../slo/evaluate";
import { openIncident } from "../slo/incidents";
import { readBalances } from "../ledger/balances";
import { pgRunner } from "../db/sql";
import { DEMO_SEED_ACTOR } from "./seed-transfers";

const log = componentLogger("demo");
/** Tries of a create refused by admission control while its sample catches up (300 ms apart). */
const ADMISSION_ATTEMPTS = 40;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
export const DEMO_OUTAGE_TRANSFERS = 36;
export const DEMO_SLOW_TRANSFERS = 48;
export const DEMO_INCIDENT_TITLE = "Sandbox instant rail down (HTTP 503) for an hour";

/** When the demo incident happens, relative to the seed's clock: two days back, at 10:00 UTC. */
export function demoIncidentWindow(now: Date): { outageFrom: Date; outageTo: Date; slowFrom: Date; slowTo: Date } {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 2 * 24 * HOUR_MS;
  const outageFrom = new Date(day + 10 * HOUR_MS);
  return { outageFrom, outageTo: new Date(outageFrom.getTime() + HOUR_MS), slowFrom: new Date(outageFrom.getTime() + 4 * HOUR_MS), slowTo: new Date(outageFrom.getTime() + 6 * HOUR_MS) };
}

/** A partner that answers every submission as the given outcome (the bank during the incident). */
function scriptedPartner(kind: "accepted" | "retryable"): PartnerAdapter {
  const unused = () => {
    throw new Error("not used by the demo seed");
  };
  return {
    id: "sandbox",
    rails: ["instant", "batch"],
    async submit(p): Promise<SubmitOutcome> {
      return kind === "accepted"
        ? { kind: "accepted", partnerRef: `demo-slo-${p.idempotencyKey.slice(-6)}`, status: "acknowledged", raw: { id: `demo-slo-${p.idempotencyKey.slice(-6)}` }, httpStatus: 201 }
        : { kind: "retryable", reason: "service_unavailable: the bank is down for maintenance (HTTP 503)", raw: { error: { code: "service_unavailable" } }, httpStatus: 503 };
    },
    async queryStatus() {
      return { kind: "unavailable", reason: "HTTP 503", raw: null };
    },
    verifyWebhook: unused,
    parseStoredEvent: unused,
    fetchSettlementFile: unused,
  };
}

/** Who records the incident when no demo operator is given (tests). */
const SEED_OPERATOR: Actor = userActor({ id: "00000000-0000-4000-8000-00000000510e", email: "demo-seed@demo.local", name: "Demo seed", roles: ["operator"] });

export async function seedDemoSloIncident(db: DbHandles, opts: { now?: Date; operator?: Actor } = {}): Promise<string> {
  const now = opts.now ?? new Date();
  await ensureDefaultSlos(db);
  const sql = pgRunner(db.pool);
  const wallets = await sql.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code LIKE 'customer:%:wallet' AND currency = 'EUR' AND status = 'active' ORDER BY code`);
  if (wallets.length === 0) throw new Error("the demo incident needs the demo ledger's EUR wallets; seed the ledger first");
  const available = new Map((await readBalances(sql, wallets.map((w) => w.id))).map((b) => [b.accountId, b.availableMinor]));
  const w = demoIncidentWindow(now);
  const down = scriptedPartner("retryable");
  const up = scriptedPartner("accepted");
  let created = 0;

  const ensure = async (key: string, i: number, at: Date) => {
    const wallet = wallets[i % wallets.length]!;
    const amountMinor = 1_000n + BigInt((i * 7919) % 40) * 250n;
    if ((available.get(wallet.id) ?? 0n) / 10n < amountMinor) return null;
    const create = () =>
      createTransfer(
        db,
        DEMO_SEED_ACTOR,
        { sourceAccountId: wallet.id, counterpartyName: "Stadtwerke München GmbH", counterpartyAccount: "DE89 3704 0044 0532 0130 00", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox", reference: `Utility bill ${4_200_000 + i}` },
        { idempotencyKey: key, now: at },
      );
    // Admission control judges the backlog by the wall clock: a past-dated transfer still in
    // backoff looks long overdue until the next sample sees it failed. Wait for that sample.
    let r: Awaited<ReturnType<typeof create>> | undefined;
    for (let attempt = 1; !r; attempt++) {
      try {
        r = await create();
      } catch (e) {
        if (!isAppError(e) || e.code !== "OVERLOADED" || attempt >= ADMISSION_ATTEMPTS) throw e;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    if (!r.isReplay) created++;
    return r.transfer;
  };

  // The outage: every attempt answered 503; retries back off until the rail's limit fails the transfer.
  for (let i = 0; i < DEMO_OUTAGE_TRANSFERS; i++) {
    const at = new Date(w.outageFrom.getTime() + Math.floor((i * HOUR_MS) / DEMO_OUTAGE_TRANSFERS) + 7_000);
    const t = await ensure(`demo:slo:outage:${String(i).padStart(2, "0")}`, i, at);
    if (!t) continue;
    let clock = at.getTime();
    for (let step = 0; step < 30; step++) {
      const o = await advanceTransfer(db, t.id, { adapterFor: () => down, now: () => new Date(clock) });
      if (o.action === "none" || o.action === "failed" || o.action === "needs_attention") break;
      clock = o.action === "retry_scheduled" || o.action === "waiting" ? Math.max(clock + 1_000, (o.action === "retry_scheduled" ? o.at : o.until).getTime() + 1) : clock + 5_000;
    }
  }

  // The slow period: accepted at once, settled 3 to 14 minutes later (the objective asks for 30 s).
  for (let i = 0; i < DEMO_SLOW_TRANSFERS; i++) {
    const at = new Date(w.slowFrom.getTime() + Math.floor((i * 2 * HOUR_MS) / DEMO_SLOW_TRANSFERS) + 11_000);
    const t = await ensure(`demo:slo:slow:${String(i).padStart(2, "0")}`, i + 7, at);
    if (!t) continue;
    await advanceTransfer(db, t.id, { adapterFor: () => up, now: () => new Date(at.getTime() + 400) });
    const settledAt = new Date(at.getTime() + (3 + (i % 12)) * MINUTE_MS);
    await applyPartnerEvent(
      db,
      { eventId: `demo:slo:slow:evt:${i}`, partner: "sandbox", type: "settled", idempotencyKey: t.idempotencyKey, partnerRef: `demo-slo-${t.idempotencyKey.slice(-6)}`, occurredAt: settledAt, raw: {} },
      { webhookEventId: null, now: settledAt },
    );
  }

  await backfillPartnerMinutes(db.pool, new Date(now.getTime() - 8 * 24 * HOUR_MS), now);
  await foldRollups(db);
  // Evaluated once now, so the overview shows every objective's state before the worker's first minute.
  await evaluateAndPublish(db, now);

  const existing = await db.pool.query(`SELECT 1 FROM incidents WHERE title = $1`, [DEMO_INCIDENT_TITLE]);
  let incident = "already recorded";
  if (existing.rowCount === 0) {
    const i = await openIncident(db, opts.operator ?? SEED_OPERATOR, {
      title: DEMO_INCIDENT_TITLE,
      severity: "sev2",
      startedAt: w.outageFrom,
      endedAt: w.outageTo,
      partner: "sandbox",
      rail: "instant",
      sloKey: "transfer-success",
      notes: "Every submission to the sandbox's instant rail was answered 503 for an hour. Transfers retried with backoff and failed when their retries ran out; their holds were released, nothing was paid twice. The bank confirmed maintenance without notice.",
      linkBlastRadius: { to: w.outageTo, hit: "failed" },
    }, { now: w.outageTo });
    incident = `opened (${i.linkedTransfers} transfers linked)`;
  }
  log.info({ created, incident }, "demo SLO incident seeded");
  return `demo incident: ${created} transfers created, incident ${incident}`;
}
