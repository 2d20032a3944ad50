/**
 * The demo reconciliation world: the sandbox bank's end-of-day camt.053 statements and the rails'
 * settlement files over the demo week, with realistic faults, imported and matched, so the Breaks
 * queue holds a few dozen open breaks of every type, a few already worked by the demo operator.
 *
 * The bank's books for the demo week are our settled and returned demo transfers (the demo seed
 * replays the bank's answers rather than running the sandbox); from then on the running demo's
 * sandbox writes its own statements, which the worker imports each day (importDemoDailyFiles).
 * The seed records the week's last closing as the sandbox's opening for today
 * (writeStatementOpening), so the sandbox's first statement continues the seeded chain; this holds
 * when the sandbox keeps its books in our database (npm start's own sandbox, not SANDBOX_URL).
 *
 * Invariants kept:
 * - Only the reconciliation domain's functions write (createSource, importAndReconcile,
 *   matchByHand, acceptTimingDifference, proposeBreakWriteOff), so every rule holds for demo data.
 * - Idempotent: sources are created when missing; statements are imported once (their id and
 *   sequence), files once (their hash); the operator's actions only when none was taken yet.
 * - Deterministic: faults come from seeded dice; one day's statement is left out (a gap) and one
 *   opens off the previous closing (a balance break) on purpose; no other break in the chain of
 *   statements, also where the sandbox's own statements take over.
 */
import type { DbHandles } from "../db/client";
import type { AuditActor } from "../audit/audit-log";
import { pgRunner } from "../db/sql";
import { loadUserActor } from "../auth/load-actor";
import { componentLogger } from "../observability/logger";
import { formatSettlementCsv } from "../partners/settlement-file";
import type { SettlementLine } from "../partners/types";
import { acceptTimingDifference, listBreaks, matchByHand } from "../recon/breaks";
import { importAndReconcile } from "../recon/runs";
import { createSource, findSourceByAccount, getSource, type ReconSource } from "../recon/sources";
import { proposeBreakWriteOff } from "../recon/write-off";
import { upsertDemoUser } from "../admin/users";
import { approveProposal } from "../approvals/proposals";
import { confirmTotpEnrolment, startTotpEnrolment } from "../auth/step-up";
import { generateTotpCode } from "../auth/totp";
import { adjustmentKinds } from "../composition";
import { buildDailyStatement, sandboxIban, writeStatementOpening, type BookedPayment, type StatementFaultConfig } from "../sandbox/statements";

const log = componentLogger("demo");

const DAYS = 7;
/** About one payment in eight meets a fault: a few dozen breaks over the week. */
export const DEMO_STATEMENT_FAULTS: StatementFaultConfig = {
  seed: "demo",
  missing: 0.015,
  extra: 0.015,
  duplicated: 0.015,
  amount_changed: 0.015,
  fee_deducted: 0.015,
  currency_changed: 0.03,
  value_date_shifted: 0.02,
  reference_mangled: 0.015,
  batch_netting: 0.02,
  split_payment: 0.015,
};

const DEMO_ACTOR: AuditActor = { type: "system", id: null, label: "demo-seed" };

const dayOf = (d: Date, back = 0) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - back)).toISOString().slice(0, 10);

interface TransferBooking {
  currency: string;
  rail: string;
  day: string;
  payment: BookedPayment;
}

/** Our settled transfers (and returns) as the bank booked them: by settlement (or return) day. */
async function bankBookings(db: Pick<DbHandles, "pool">, from: string, to: string): Promise<TransferBooking[]> {
  const rows = (
    await db.pool.query<{ id: string; key: string; partner_ref: string | null; amount: string; currency: string; rail: string; reference: string; cp: string; cpa: string; day: string; direction: "credit" | "debit" }>(
      `SELECT t.id, t.idempotency_key AS key, t.partner_ref, t.amount_minor::text AS amount, t.currency::text AS currency, t.rail, t.reference,
              t.counterparty_name AS cp, t.counterparty_account AS cpa, (e.effective_at AT TIME ZONE 'UTC')::date::text AS day, 'debit' AS direction
         FROM transfers t JOIN journal_entries e ON e.id = t.settlement_entry_id
        WHERE t.partner = 'sandbox' AND (e.effective_at AT TIME ZONE 'UTC')::date BETWEEN $1::date AND $2::date
       UNION ALL
       SELECT t.id, t.idempotency_key, t.partner_ref, t.amount_minor::text, t.currency::text, t.rail, t.reference, t.counterparty_name, t.counterparty_account,
              (e.effective_at AT TIME ZONE 'UTC')::date::text, 'credit'
         FROM transfers t JOIN journal_entries e ON e.id = t.return_entry_id
        WHERE t.partner = 'sandbox' AND (e.effective_at AT TIME ZONE 'UTC')::date BETWEEN $1::date AND $2::date
        ORDER BY 2 LIMIT 20000`,
      [from, to],
    )
  ).rows;
  return rows.map((r) => ({
    currency: r.currency.trim(),
    rail: r.rail,
    day: r.day,
    payment: {
      paymentId: r.partner_ref ?? `sbx_${r.id.replace(/-/g, "").slice(0, 24)}`,
      idempotencyKey: r.key,
      amountMinor: BigInt(r.amount),
      currency: r.currency.trim(),
      direction: r.direction,
      valueDate: r.day,
      reference: r.reference,
      counterpartyName: r.cp,
      counterpartyAccount: r.cpa,
    },
  }));
}

/**
 * The demo's reconciliation sources, created when missing: per currency whose sandbox settlement
 * account exists, the sandbox bank's statement source; for EUR also one settlement-file source per
 * rail. The daily files job (importDemoDailyFiles) imports into these by name.
 */
export async function ensureDemoReconSources(db: Pick<DbHandles, "pool">, currencies: readonly string[]): Promise<{ banks: Map<string, ReconSource>; rails: Map<string, ReconSource> }> {
  const banks = new Map<string, ReconSource>();
  const rails = new Map<string, ReconSource>();
  for (const c of currencies) {
    const account = `partner:sandbox:settlement:${c}`;
    const exists = await db.pool.query(`SELECT 1 FROM ledger_accounts WHERE code = $1`, [account]);
    if (!exists.rowCount) continue;
    const iban = sandboxIban(c);
    const found = await findSourceByAccount(pgRunner(db.pool), { iban, otherId: null });
    banks.set(c, found ?? (await createSource(db, DEMO_ACTOR, { name: `Sandbox bank ${c}`, kind: "bank_account", ledgerAccount: account, iban })));
    if (c === "EUR") {
      for (const rail of ["instant", "batch"]) {
        const name = `Sandbox ${rail} settlement EUR`;
        const s = await getSource(db, name).catch(() => null);
        rails.set(rail, s ?? (await createSource(db, DEMO_ACTOR, { name, kind: "partner_rail", ledgerAccount: account, partner: "sandbox", rail, csvMapping: { builtIn: "sandbox_settlement" } })));
      }
    }
  }
  return { banks, rails };
}

/** Whether the source already has a file of this name (a day's settlement file is imported once, whatever its content). */
async function hasFile(db: Pick<DbHandles, "pool">, sourceId: string, fileName: string): Promise<boolean> {
  return ((await db.pool.query(`SELECT 1 FROM recon_imports WHERE source_id = $1 AND file_name = $2 LIMIT 1`, [sourceId, fileName])).rowCount ?? 0) > 0;
}

/**
 * When the file of `day` arrived: the next morning at 06:00 UTC, as a bank's end-of-day statement
 * does (never after `now`). Each day's import and run are dated then, so the runs' history, the
 * Reconciliation page's charts and the breaks' ages cover the demo week instead of the moment
 * the demo was seeded.
 */
function arrivalOf(day: string, now: Date): Date {
  const morning = new Date(Date.parse(`${day}T06:00:00Z`) + 86_400_000);
  return morning < now ? morning : now;
}

/** Seeds the demo week's statements and settlement files, and the operator's first actions. */
export async function seedDemoReconciliation(db: DbHandles, opts: { now?: Date } = {}): Promise<string> {
  const now = opts.now ?? new Date();
  const first = dayOf(now, DAYS);
  const last = dayOf(now, 1);
  const bookings = await bankBookings(db, first, last);
  const currencies = [...new Set(bookings.map((b) => b.currency))].sort();
  const { banks, rails } = await ensureDemoReconSources(db, currencies);
  let imported = 0;
  let lines = 0;
  const gapDay = dayOf(now, 4);
  const jumpDay = dayOf(now, 2);
  for (const currency of currencies) {
    const source = banks.get(currency);
    if (!source) continue;
    // Continue the chain of statements already imported (a restart on a later day adds days to it).
    const before = (await db.pool.query<{ closing: string | null }>(`SELECT closing_minor::text AS closing FROM recon_statements WHERE source_id = $1 AND period_to < $2::date ORDER BY period_to DESC LIMIT 1`, [source.id, first])).rows[0];
    let opening = BigInt(before?.closing ?? "0");
    for (let back = DAYS; back >= 1; back--) {
      const day = dayOf(now, back);
      const known = (await db.pool.query<{ closing: string | null }>(`SELECT closing_minor::text AS closing FROM recon_statements WHERE source_id = $1 AND statement_ref = $2`, [source.id, `SBX-${currency}-${day}`])).rows[0];
      if (known?.closing) {
        opening = BigInt(known.closing);
        continue;
      }
      const payments = bookings.filter((b) => b.currency === currency && b.day === day).map((b) => b.payment);
      // One day's statement opens 12.34 off the previous closing: a balance break on purpose.
      const st = buildDailyStatement({ currency, date: day, openingMinor: day === jumpDay && currency === "EUR" ? opening + 1234n : opening, payments, faults: DEMO_STATEMENT_FAULTS, createdAt: `${day}T23:59:00Z` });
      opening = st.closingMinor;
      // One day's EUR statement never arrives: a statement gap on purpose.
      if (day === gapDay && currency === "EUR") continue;
      const out = await importAndReconcile(db, DEMO_ACTOR, { sourceId: source.id, fileName: `sandbox-${currency}-${day}.camt053.xml`, content: new TextEncoder().encode(st.xml) }, { now: arrivalOf(day, now) });
      if (out.status === "imported") {
        imported++;
        lines += out.lineCount;
      }
    }
    // The sandbox's own statements start today, and its books hold none of the history above:
    // they open with this week's last closing, so the chain goes on without a break.
    await writeStatementOpening(db.pool, currency, dayOf(now), opening, now);
  }
  // The EUR rails' settlement files, each with the sandbox's own file faults: a withheld line and an extra one per rail.
  for (const [rail, source] of rails) {
    for (let back = DAYS; back >= 1; back--) {
      const day = dayOf(now, back);
      const mine = bookings.filter((b) => b.currency === "EUR" && b.rail === rail && b.day === day);
      const fileLines: Omit<SettlementLine, "lineNumber">[] = mine
        .filter((_b, i) => !(back === 3 && i === 0))
        .map((b) => ({ partnerRef: b.payment.paymentId, idempotencyKey: b.payment.idempotencyKey, reference: b.payment.reference, amountMinor: b.payment.amountMinor, currency: "EUR", status: b.payment.direction === "debit" ? "settled" : "returned", valueDate: day }));
      if (back === 5) fileLines.push({ partnerRef: `sbx_extra_${rail}_${day.replace(/-/g, "")}`, idempotencyKey: "", reference: "unidentified item", amountMinor: 4_321n, currency: "EUR", status: "settled", valueDate: day });
      if (fileLines.length === 0 || (await hasFile(db, source.id, `sandbox-${rail}-${day}.csv`))) continue;
      const out = await importAndReconcile(db, DEMO_ACTOR, { sourceId: source.id, fileName: `sandbox-${rail}-${day}.csv`, content: new TextEncoder().encode(formatSettlementCsv(fileLines)) }, { now: arrivalOf(day, now) });
      if (out.status === "imported") {
        imported++;
        lines += out.lineCount;
      }
    }
  }
  const actions = await seedOperatorActions(db, [...banks.values()], now);
  return `reconciliation: ${imported} files imported (${lines} lines), ${actions}`;
}

/**
 * Who approved the demo's past write-off: an approver of the demo's history, not a sign-in. The
 * seed sets up their authenticator with a secret it then forgets, so the approval goes through the
 * same four-eyes path and step-up as any other, and nobody can approve as them afterwards. Not in
 * DEMO_USERS: the demo approvers people sign in as keep their own authenticator set-up.
 */
export const DEMO_HISTORY_APPROVER = { email: "recon.approver@demo.local", name: "Rhea Recon Approver", roles: ["approver"] as const, password: null };

async function historyApprover(db: DbHandles, now: Date) {
  const { user } = await upsertDemoUser(db, { ...DEMO_HISTORY_APPROVER, roles: [...DEMO_HISTORY_APPROVER.roles] });
  const actor = await loadUserActor(db.prisma, user.id);
  if (!actor || actor.kind !== "user") return null;
  const factor = await db.pool.query(`SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL`, [user.id]);
  if (factor.rowCount) return null;
  const { secret } = await startTotpEnrolment(db, actor, { now });
  await confirmTotpEnrolment(db, actor, { code: generateTotpCode(secret, now) }, { now });
  return actor;
}

/**
 * The demo operator has already worked a few breaks: two matched by hand, one timing difference,
 * one write-off proposed (waiting for an approver) and one written off (approved and applied).
 */
async function seedOperatorActions(db: DbHandles, sources: ReconSource[], now: Date): Promise<string> {
  if (sources.length === 0) return "no sandbox bank source";
  const done = await db.pool.query(`SELECT 1 FROM recon_matches WHERE source_id = ANY($1::uuid[]) AND kind = 'manual' LIMIT 1`, [sources.map((s) => s.id)]);
  if (done.rowCount) return "operator actions already seeded";
  const user = await db.prisma.user.findUnique({ where: { email: "operator@demo.local" }, select: { id: true } });
  const operator = user ? await loadUserActor(db.prisma, user.id) : null;
  if (!operator || operator.kind !== "user") return "no demo operator";
  const who: AuditActor = { type: "user", id: operator.userId, label: operator.email };
  let matched = 0;
  const ids = new Set(sources.map((s) => s.id));
  const mismatches = (await listBreaks(db, { types: ["amount_mismatch"], statuses: ["open"] }, { limit: 50, now })).items.filter((b) => ids.has(b.sourceId)).slice(0, 2);
  for (const b of mismatches) {
    if (!b.lineId || !b.postingId) continue;
    await matchByHand(db, who, { sourceId: b.sourceId, lineIds: [b.lineId], postingIds: [b.postingId], note: "the bank confirmed its booking differs; difference agreed with treasury", acceptDifference: true }, { now }).then(
      () => matched++,
      (e: unknown) => log.warn({ err: (e as Error).message }, "demo manual match skipped"),
    );
  }
  const missing = (await listBreaks(db, { types: ["missing_in_ledger"], statuses: ["open"] }, { limit: 50, now })).items.filter((b) => ids.has(b.sourceId)).slice(0, 3);
  let timing = 0;
  let proposed = 0;
  if (missing[0]) {
    await acceptTimingDifference(db, who, { breakId: missing[0].id, deadlineAt: new Date(now.getTime() + 2 * 86_400_000), note: "the treasury desk books it with tomorrow's batch" }, { now }).then(() => timing++);
  }
  if (missing[1]) {
    await proposeBreakWriteOff(db, { actor: operator, now, kinds: adjustmentKinds }, { breakId: missing[1].id, reason: "unidentified bank credit below the investigation threshold; bank reference on file", idempotencyKey: `demo:recon:write-off:${missing[1].id}` }).then(
      () => proposed++,
      (e: unknown) => log.warn({ err: (e as Error).message }, "demo write-off proposal skipped"),
    );
  }
  let writtenOff = 0;
  if (missing[2]) {
    const b = missing[2];
    await (async () => {
      const p = await proposeBreakWriteOff(db, { actor: operator, now, kinds: adjustmentKinds }, { breakId: b.id, reason: "bank charge booked by the bank only; below the write-off limit", idempotencyKey: `demo:recon:write-off:${b.id}` });
      const approver = await historyApprover(db, now);
      if (!approver) throw new Error("the demo history approver is missing or already set up");
      await approveProposal(db, { actor: approver, now, kinds: adjustmentKinds }, { proposalId: p.id });
      writtenOff++;
    })().catch((e: unknown) => log.warn({ err: (e as Error).message }, "demo write-off skipped"));
  }
  return `${matched} matched by hand, ${timing} timing difference, ${proposed} write-off proposed, ${writtenOff} written off`;
}

/**
 * The running demo's daily files: yesterday's end-of-day statement of each sandbox bank source and
 * the EUR rails' settlement files, fetched from the sandbox and imported (no-ops once imported).
 */
export async function importDemoDailyFiles(db: Pick<DbHandles, "pool">, sandboxUrl: string, now: Date): Promise<{ imported: number }> {
  const day = dayOf(now, 1);
  const sources = (await db.pool.query<{ id: string; name: string; kind: string; rail: string | null; currency: string; iban: string | null }>(`SELECT id, name, kind::text, rail, currency::text, iban FROM recon_sources WHERE is_active AND name LIKE 'Sandbox %' ORDER BY name LIMIT 20`)).rows;
  let imported = 0;
  for (const s of sources) {
    const url = s.kind === "bank_account" ? `${sandboxUrl}/v1/statements/${s.currency.trim()}/${day}` : `${sandboxUrl}/v1/settlement-files/${s.rail}/${day}`;
    const fileName = s.kind === "bank_account" ? `sandbox-${s.currency.trim()}-${day}.camt053.xml` : `sandbox-${s.rail}-${day}.csv`;
    if (await hasFile(db, s.id, fileName)) continue;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = new Uint8Array(await res.arrayBuffer());
      const out = await importAndReconcile(db, { type: "system", id: null, label: "recon-demo-files" }, { sourceId: s.id, fileName, content: body });
      if (out.status === "imported") imported++;
    } catch (e) {
      log.warn({ source: s.name, day, err: (e as Error).message }, "demo daily file not imported");
    }
  }
  return { imported };
}
