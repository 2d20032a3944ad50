/**
 * Kinds of adjustment: the extension point. A kind says what its payload looks like, how to
 * describe it, what it concerns, and what approving it does. Built in: a journal entry, the
 * reversal of an entry, and a change of the approval policy. Other domains define theirs
 * (transfers: force-settle, force-fail; pricing: fee schedule versions and manual rates) as values,
 * and the composition module (server/composition.ts) puts them all in one AdjustmentKinds. A kind
 * that moves no money (a policy, a rule set, an account's status...) is written with
 * defineControlKind, which supplies what every such kind has in common.
 *
 * Invariants kept:
 * - A payload is plain JSON (amounts as decimal strings of minor units): it is stored as proposed
 *   and parsed by the kind's schema again whenever it is read.
 * - The preview always comes from the ledger's own dry run of toLedgerCommand's command, never
 *   from separate arithmetic. A kind that must also change its own rows when applied (a transfer's
 *   state) supplies apply(), which runs inside the approval transaction and must move money only
 *   through executeLedgerCommandInTransaction with ctx.idempotencyKey.
 * - Applying executes under the idempotency key `adjustment:<proposal id>`, so even a bug that
 *   applied a proposal twice could not post twice.
 */
import type pg from "pg";
import { z } from "zod";
import { pgRunner, type SqlRunner } from "../db/sql";
import type { AuditActor } from "../audit/audit-log";
import type { Permission } from "../core/permissions";
import { AppError } from "../errors/app-error";
import { parseAmount, parseMinorUnits } from "../money/amount";
import { currencyExponent } from "../money/currencies";
import type { LedgerCommand } from "../ledger/types";
import { checkExpiryHours, parseThresholds, policyChanges, readPolicy, writePolicyVersion, type PolicyChangePayload } from "./policy";
import type { PreviewChange, ProposalLink } from "./types";

export interface KindContext {
  proposalId: string;
  now: Date;
}

export interface ApplyContext extends KindContext {
  /** The final approver; the ledger records them as the actor of the entry. */
  actor: AuditActor;
  /** `adjustment:<proposal id>`: pass it to executeLedgerCommandInTransaction. */
  idempotencyKey: string;
  requestId: string | null;
  /** toLedgerCommand's command, built again inside the approval transaction. */
  command: LedgerCommand | null;
}

export interface ApplyOutcome {
  entryIds: string[];
  /** Stored with the proposal and shown on its page (JSON: no bigint). */
  result: Record<string, unknown>;
}

export interface AdjustmentKind<P extends Record<string, unknown> = Record<string, unknown>> {
  kind: string;
  /** For people: "Journal entry". */
  label: string;
  /** Who may propose it. */
  proposePermission: Permission;
  /** Accepts what callers send and what normalize returns (the stored form). */
  payloadSchema: z.ZodType<P>;
  /** Resolves references (account codes) and parses amounts into the stored form. Default: as parsed. */
  normalize?(sql: SqlRunner, payload: P): Promise<P>;
  describe(payload: P): string;
  links(payload: P): ProposalLink[];
  /** The ledger command approving executes, and the preview dry-runs; null when no money moves. */
  toLedgerCommand(sql: SqlRunner, payload: P, ctx: KindContext): Promise<LedgerCommand | null>;
  /** Non-money changes for the preview (before → after), read at the preview's moment. */
  previewChanges?(sql: SqlRunner, payload: P): Promise<PreviewChange[]>;
  /** Runs inside the approval transaction instead of executing the command. */
  apply?(client: pg.PoolClient, payload: P, ctx: ApplyContext): Promise<ApplyOutcome>;
  /** A fixed number of approvals; default: from the amounts and the policy's thresholds. */
  requiredApprovals?(payload: P): 1 | 2;
}

/**
 * The adjustment kinds an application knows: built by the composition module
 * (server/composition.ts) from each domain's list, and handed to the approvals functions in their
 * context. No kind registers itself.
 */
export class AdjustmentKinds {
  private readonly byName = new Map<string, AdjustmentKind>();

  constructor(kinds: readonly AdjustmentKind[]) {
    for (const kind of kinds) {
      if (!/^[a-z][a-z0-9_]{1,49}$/.test(kind.kind)) throw new Error(`adjustment kind name ${JSON.stringify(kind.kind)} must be snake_case, 2-50 characters`);
      if (this.byName.has(kind.kind)) throw new Error(`adjustment kind ${kind.kind} is defined twice`);
      this.byName.set(kind.kind, kind);
    }
  }

  /** The kind named `name`. Errors: BAD_INPUT naming the known kinds. */
  get(name: string): AdjustmentKind {
    const k = this.byName.get(name);
    if (!k) throw new AppError("BAD_INPUT", `unknown adjustment kind ${JSON.stringify(name)}; known kinds: ${[...this.byName.keys()].sort().join(", ")}`);
    return k;
  }

  /** A kind's label for people, or its name when the kind is not known (any more). */
  labelOf(name: string): string {
    return this.byName.get(name)?.label ?? name;
  }

  list(): { kind: string; label: string; proposePermission: Permission }[] {
    return [...this.byName.values()].map((k) => ({ kind: k.kind, label: k.label, proposePermission: k.proposePermission })).sort((a, b) => a.label.localeCompare(b.label));
  }
}

/** A kind with its payload type checked where it is written, stored with the others. */
export function defineKind<P extends Record<string, unknown>>(kind: AdjustmentKind<P>): AdjustmentKind {
  return kind as unknown as AdjustmentKind;
}

/**
 * A kind that changes a control or a setting (the approval policy, a rule set, an account's status,
 * a service key, a fee schedule, a reference rate) and moves no money: what it omits is fixed for
 * every such kind.
 */
export interface ControlKind<P extends Record<string, unknown>> extends Omit<AdjustmentKind<P>, "toLedgerCommand" | "apply" | "requiredApprovals"> {
  /** Runs inside the approval transaction; returns what is stored with the proposal (JSON: no bigint). */
  apply(client: pg.PoolClient, payload: P, ctx: ApplyContext): Promise<Record<string, unknown>>;
}

/**
 * A control kind as an adjustment kind: no ledger command (the preview shows only its changes),
 * no entries when applied, and one approval, since there is no amount for the policy's thresholds.
 */
export function defineControlKind<P extends Record<string, unknown>>(kind: ControlKind<P>): AdjustmentKind {
  return defineKind<P>({
    ...kind,
    toLedgerCommand: async () => null,
    apply: async (client, payload, ctx) => ({ entryIds: [], result: await kind.apply(client, payload, ctx) }),
    requiredApprovals: () => 1,
  });
}

/** Parses a payload with the kind's schema; BAD_INPUT naming each field on failure. */
export function parsePayload<P extends Record<string, unknown>>(kind: AdjustmentKind<P>, raw: unknown): P {
  const r = kind.payloadSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.map(String).join(".") || "payload"}: ${i.message}`).join("; ");
    throw new AppError("BAD_INPUT", `invalid ${kind.kind} payload: ${issues}`, { details: { fieldErrors: r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })) } });
  }
  return r.data;
}

// --- journal_entry ---------------------------------------------------------------------------

const MAX_POSTINGS = 100;

const postingSchema = z
  .strictObject({
    accountId: z.uuid().optional(),
    /** Instead of accountId: the account's code ("ops:fees:EUR"). */
    accountCode: z.string().trim().min(1).max(200).optional(),
    side: z.enum(["debit", "credit"]),
    /** Minor units as a digit string ("885"). */
    amountMinor: z.string().max(40).optional(),
    /** Instead of amountMinor: major units as an exact decimal ("8.85"); "8.855" EUR is refused. */
    amount: z.string().trim().max(60).optional(),
    /** Defaults to the account's currency. */
    currency: z.string().trim().min(1).max(8).optional(),
  })
  .refine((p) => p.accountId !== undefined || p.accountCode !== undefined, "give accountId or accountCode")
  .refine((p) => (p.amountMinor === undefined) !== (p.amount === undefined), "give exactly one of amount (decimal) or amountMinor (minor units)");

export const journalEntryPayload = z.strictObject({
  description: z.string().trim().min(1, "describe the entry").max(500),
  postings: z.array(postingSchema).min(1).max(MAX_POSTINGS),
});
export type JournalEntryPayload = z.infer<typeof journalEntryPayload>;

interface AccountRef {
  id: string;
  code: string;
  currency: string;
}

async function findAccounts(sql: SqlRunner, ids: string[], codes: string[]): Promise<AccountRef[]> {
  if (ids.length === 0 && codes.length === 0) return [];
  return sql.query<AccountRef>(`SELECT id, code, currency FROM ledger_accounts WHERE id = ANY($1::uuid[]) OR code = ANY($2::text[])`, [ids, codes]);
}

const journalEntryKind = defineKind<JournalEntryPayload>({
  kind: "journal_entry",
  label: "Journal entry",
  proposePermission: "adjustments:propose",
  payloadSchema: journalEntryPayload,
  async normalize(sql, payload) {
    const ids = payload.postings.flatMap((p) => (p.accountId ? [p.accountId.toLowerCase()] : []));
    const codes = payload.postings.flatMap((p) => (p.accountId ? [] : [p.accountCode!]));
    const found = await findAccounts(sql, ids, codes);
    const byId = new Map(found.map((a) => [a.id, a]));
    const byCode = new Map(found.map((a) => [a.code, a]));
    const postings = payload.postings.map((p, i) => {
      const account = p.accountId ? byId.get(p.accountId.toLowerCase()) : byCode.get(p.accountCode!);
      if (!account) {
        throw new AppError("NOT_FOUND", `postings[${i}]: account ${p.accountId ?? p.accountCode} does not exist`, { details: { index: i, account: p.accountId ?? p.accountCode } });
      }
      const currency = (p.currency ?? account.currency).toUpperCase();
      currencyExponent(currency);
      const amountMinor = p.amount !== undefined ? parseAmount(p.amount, currency, { allowZero: false }) : parseMinorUnits(p.amountMinor!);
      return { accountId: account.id, accountCode: account.code, side: p.side, amountMinor: amountMinor.toString(), currency };
    });
    return { description: payload.description, postings };
  },
  describe: (p) => p.description,
  links: (p) => [...new Map(p.postings.map((x) => [x.accountId!, { type: "ledger_account", id: x.accountId!, label: x.accountCode }])).values()],
  async toLedgerCommand(_sql, p, ctx) {
    return {
      type: "post_entry",
      entry: {
        description: p.description,
        postings: p.postings.map((x) => ({ accountId: x.accountId!, side: x.side, amountMinor: BigInt(x.amountMinor!), currency: x.currency! })),
        metadata: { adjustmentId: ctx.proposalId },
      },
    };
  },
});

// --- reversal --------------------------------------------------------------------------------

export const reversalPayload = z.strictObject({
  entryId: z.uuid(),
  description: z.string().trim().min(1).max(500).optional(),
});
export type ReversalPayload = z.infer<typeof reversalPayload>;

const reversalKind = defineKind<ReversalPayload>({
  kind: "reversal",
  label: "Reversal of an entry",
  proposePermission: "adjustments:propose",
  payloadSchema: reversalPayload,
  async normalize(sql, p) {
    const rows = await sql.query<{ id: string }>(`SELECT id FROM journal_entries WHERE id = $1`, [p.entryId.toLowerCase()]);
    if (!rows[0]) throw new AppError("NOT_FOUND", `entry ${p.entryId} does not exist`, { details: { entryId: p.entryId } });
    return { entryId: rows[0].id, ...(p.description ? { description: p.description } : {}) };
  },
  describe: (p) => p.description ?? `Reverse entry ${p.entryId}`,
  links: (p) => [{ type: "journal_entry", id: p.entryId }],
  async toLedgerCommand(_sql, p) {
    return { type: "reverse_entry", entryId: p.entryId, ...(p.description ? { description: p.description } : {}) };
  },
});

// --- policy_change -----------------------------------------------------------------------------

export const policyChangePayload = z.strictObject({
  basedOnVersion: z.number().int().min(1),
  /** Instead of thresholdsMinor: major units per currency ({ "EUR": "10000.00" }). */
  thresholds: z.record(z.string().max(8), z.string().max(60)).optional(),
  thresholdsMinor: z.record(z.string().max(8), z.string().regex(/^[1-9]\d{0,18}$/)).optional(),
  expiryHours: z.number().int().nullable(),
});
type PolicyChangeInput = z.infer<typeof policyChangePayload>;

function asPolicy(p: PolicyChangeInput): PolicyChangePayload {
  return { basedOnVersion: p.basedOnVersion, thresholdsMinor: p.thresholdsMinor ?? {}, expiryHours: p.expiryHours };
}

const policyChangeKind = defineControlKind<PolicyChangeInput>({
  kind: "policy_change",
  label: "Approval policy change",
  proposePermission: "approvals:policy",
  payloadSchema: policyChangePayload,
  async normalize(sql, p) {
    if ((p.thresholds === undefined) === (p.thresholdsMinor === undefined)) throw new AppError("BAD_INPUT", "give exactly one of thresholds (decimal) or thresholdsMinor");
    const thresholdsMinor = p.thresholds
      ? parseThresholds(p.thresholds)
      : Object.fromEntries(
          Object.entries(p.thresholdsMinor!).map(([c, v]) => {
            currencyExponent(c);
            return [c, parseMinorUnits(v).toString()];
          }),
        );
    const current = await readPolicy(sql);
    if (current.version !== p.basedOnVersion) {
      throw new AppError("CONFLICT", `the approval policy is at version ${current.version}, not ${p.basedOnVersion}; reload and propose again`, { details: { currentVersion: current.version } });
    }
    return { basedOnVersion: p.basedOnVersion, thresholdsMinor, expiryHours: checkExpiryHours(p.expiryHours) };
  },
  describe: (p) => `Change the approval policy (version ${p.basedOnVersion} → ${p.basedOnVersion + 1})`,
  links: () => [{ type: "approval_policy", id: "current" }],
  async previewChanges(sql, p) {
    return policyChanges(await readPolicy(sql), asPolicy(p));
  },
  async apply(client, p, ctx) {
    const policy = await writePolicyVersion(pgRunner(client), asPolicy(p), ctx.proposalId, ctx.now);
    return { policyVersion: policy.version };
  },
});

/** The kinds approvals itself defines. */
export const BUILT_IN_KINDS: readonly AdjustmentKind[] = [journalEntryKind, reversalKind, policyChangeKind];
