/**
 * The demo world's pricing: the ECB's real reference rates (the shipped history of 2024 to
 * 2025-05-09), FX spreads, a few customer segments, and a fee schedule per rail, so that the demo
 * transfers (history and live traffic) are priced and explained, and the Pricing page has versions,
 * a diff and rates to show.
 *
 * Invariants kept:
 * - The rates file is a trimmed copy of the ECB's history kept in the repository
 *   (server/demo/data/, read beside this module), because the demo must not depend on a path
 *   outside the repository at run time; it is imported through importReferenceRates like any file
 *   (atomic, idempotent by SHA-256).
 * - Spreads and segments go through the audited settings functions; fee schedule versions through
 *   writeScheduleVersion, the same write an approved proposal makes, as the system (no proposal:
 *   the demo world is set up, not changed; each version is audited as seeded).
 * - Idempotent: what exists is left alone (a schedule that exists gets no new version), so a
 *   second start changes nothing. Versions take effect before the demo transfer history (8 days
 *   ago; the instant rail's second version 2 days ago), so the history is priced by them.
 * - Every demo wallet currency (EUR, USD, GBP, JPY, BHD) has a rule on every rail: no demo transfer
 *   is refused for a missing fee rule.
 */
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { writeScheduleVersion, type FeeScheduleVersionPayload } from "../pricing/approval-kinds";
import type { FeeScheduleDefinition } from "../pricing/fees";
import { importReferenceRates } from "../pricing/rates-store";
import { listSpreads, setCustomerSegment, setSpread } from "../pricing/settings";
import { listSchedules } from "../pricing/schedules";
import { demoRatesFile } from "./demo-rates";

const DAY_MS = 86_400_000;
const ACTOR: AuditActor = { type: "system", id: null, label: "demo-seed" };

const SPREADS = [
  { fromCurrency: "*", toCurrency: "*", segment: "", spreadBps: "50", reason: "Demo: default FX spread" },
  { fromCurrency: "*", toCurrency: "*", segment: "vip", spreadBps: "25", reason: "Demo: key accounts get half the spread" },
  { fromCurrency: "EUR", toCurrency: "USD", segment: "", spreadBps: "35", reason: "Demo: EUR/USD is the most liquid pair" },
];

/** Demo customers (a wallet's customer is its code) and their segments. */
const SEGMENTS = [
  { customerId: "customer:0001:wallet", segment: "vip" },
  { customerId: "customer:0007:wallet", segment: "vip" },
  { customerId: "customer:0002:wallet", segment: "business" },
  { customerId: "customer:0012:wallet", segment: "business" },
];

function rule(id: string, currency: string, fixedMinor: string, rateBps: string, minMinor: string | null, maxMinor: string | null, extra: Record<string, unknown> = {}) {
  return { id, currency, minMinor, maxMinor, tiers: [{ label: "tier-1", fromMinor: "0", toMinor: null, fixedMinor, rateBps }], ...extra };
}

/** The instant rail, version 1: fixed + 0.30%, with a minimum and a maximum per currency. */
const INSTANT_V1: FeeScheduleDefinition = {
  rules: [
    rule("eur-default", "EUR", "20", "30", "25", "500"),
    rule("usd-default", "USD", "25", "30", "30", "600"),
    rule("gbp-default", "GBP", "20", "30", "20", "450"),
    rule("jpy-default", "JPY", "30", "30", "40", "800"),
    rule("bhd-default", "BHD", "100", "30", "100", "2500"),
    rule("eur-vip", "EUR", "0", "10", "10", "250", { segment: "vip" }),
    rule("usd-vip", "USD", "0", "10", "10", "300", { segment: "vip" }),
    rule("eur-business", "EUR", "10", "20", "15", "400", { segment: "business" }),
    rule("gbp-business", "GBP", "10", "20", "15", "350", { segment: "business" }),
  ],
};

/** Version 2: large EUR payments (from 1,000.00) cost 0.20% instead of 0.30%. */
const INSTANT_V2: FeeScheduleDefinition = {
  rules: INSTANT_V1.rules.map((r) =>
    r.id === "eur-default"
      ? {
          ...r,
          tiers: [
            { label: "tier-1", fromMinor: "0", toMinor: "100000", fixedMinor: "20", rateBps: "30" },
            { label: "tier-2", fromMinor: "100000", toMinor: null, fixedMinor: "20", rateBps: "20" },
          ],
        }
      : r,
  ),
};

/** The batch rail: a flat fee per payment (slow and cheap). */
const BATCH_V1: FeeScheduleDefinition = {
  rules: [rule("eur-flat", "EUR", "15", "0", null, null), rule("usd-flat", "USD", "20", "0", null, null), rule("gbp-flat", "GBP", "15", "0", null, null), rule("jpy-flat", "JPY", "25", "0", null, null), rule("bhd-flat", "BHD", "80", "0", null, null)],
};

const SCHEDULES: { code: string; name: string; rail: string; versions: { definition: FeeScheduleDefinition; daysAgo: number }[] }[] = [
  { code: "instant-std", name: "Instant rail, standard", rail: "instant", versions: [{ definition: INSTANT_V1, daysAgo: 8 }, { definition: INSTANT_V2, daysAgo: 2 }] },
  { code: "batch-std", name: "Batch rail, standard", rail: "batch", versions: [{ definition: BATCH_V1, daysAgo: 8 }] },
];

/** Seeds the demo world's pricing (see the module comment); returns a one-line report. */
export async function seedDemoPricing(db: Pick<DbHandles, "pool">, opts: { now?: Date } = {}): Promise<string> {
  const now = opts.now ?? new Date();
  const file = demoRatesFile();
  const imported = await importReferenceRates(db, ACTOR, { text: file.text, fileName: file.fileName, now });

  const spreads = await listSpreads(pgRunner(db.pool));
  for (const s of SPREADS) {
    if (!spreads.some((x) => x.fromCurrency === s.fromCurrency && x.toCurrency === s.toCurrency && x.segment === s.segment)) await setSpread(db, ACTOR, { ...s, now });
  }
  const segmented = await pgRunner(db.pool).query<{ customer_id: string }>(`SELECT customer_id FROM pricing_customers WHERE customer_id = ANY($1::text[])`, [SEGMENTS.map((s) => s.customerId)]);
  for (const s of SEGMENTS) {
    if (!segmented.some((x) => x.customer_id === s.customerId)) await setCustomerSegment(db, ACTOR, { ...s, reason: "Demo: customer segment", now });
  }

  const existing = await listSchedules(pgRunner(db.pool), now);
  let written = 0;
  for (const s of SCHEDULES) {
    if (existing.some((e) => e.code === s.code || e.rail === s.rail)) continue;
    await runTransaction(db.pool, async (client) => {
      for (const [i, v] of s.versions.entries()) {
        const payload: FeeScheduleVersionPayload = {
          scheduleCode: s.code, name: s.name, rail: s.rail, basedOnVersion: i, effectiveFrom: new Date(now.getTime() - v.daysAgo * DAY_MS).toISOString(),
          definition: v.definition as unknown as Record<string, unknown>,
        };
        const r = await writeScheduleVersion(client, payload, { effectiveFrom: new Date(payload.effectiveFrom), proposalId: null, createdBy: ACTOR.label, now });
        await appendAudit(pgRunner(client), {
          actor: ACTOR, action: "pricing.schedule_version.seed", targetType: "fee_schedule_version", targetId: r.versionId, reason: "Demo world: fee schedules per rail",
          after: { scheduleCode: s.code, rail: s.rail, version: r.version, effectiveFrom: r.effectiveFrom }, at: now,
        });
        written++;
      }
    });
  }
  return `demo pricing: rates ${imported.isReplay ? "already imported" : `${imported.insertedCount} imported (${imported.firstDate} to ${imported.lastDate})`}; ${written} fee schedule versions written`;
}
