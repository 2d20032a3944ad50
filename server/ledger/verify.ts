/**
 * The ledger integrity check (npm run ledger:verify, and the worker on a schedule). It proves,
 * from the database alone:
 * - every account's stored posted balance (sum of its slots) equals the signed sum of its postings;
 * - every account's stored pending balance equals the open holds that reserve from it;
 * - every entry has at least two postings and balances per currency;
 * - in each currency, debits equal credits across all accounts;
 * - no no-overdraft account has negative available balance.
 * It reads in one REPEATABLE READ snapshot so concurrent writers cannot create false alarms.
 */
import type { DbHandles } from "../db/client";
import { acquireClient, releaseClient } from "../db/connection";

export interface Discrepancy {
  kind: "posted_mismatch" | "pending_mismatch" | "entry_unbalanced" | "currency_unbalanced" | "overdraft";
  accountId?: string;
  entryId?: string;
  currency?: string;
  expected: string;
  actual: string;
  message: string;
}

export interface VerifyReport {
  isOk: boolean;
  checkedAt: Date;
  accounts: number;
  entries: number;
  postings: number;
  currencies: { currency: string; debitsMinor: string; creditsMinor: string }[];
  discrepancies: Discrepancy[];
}

const MAX_REPORTED = 1_000;

export async function verifyLedger(db: Pick<DbHandles, "pool">): Promise<VerifyReport> {
  const client = await acquireClient(db.pool);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const discrepancies: Discrepancy[] = [];
    const posted = await client.query<{ account_id: string; code: string; stored: string; derived: string }>(
      `WITH stored AS (SELECT account_id, sum(posted_minor) AS s FROM account_balances GROUP BY account_id),
            derived AS (SELECT p.account_id, sum(CASE WHEN p.side::text = a.normal_side::text THEN p.amount_minor::numeric ELSE -p.amount_minor::numeric END) AS d
                          FROM postings p JOIN ledger_accounts a ON a.id = p.account_id GROUP BY p.account_id)
       SELECT a.id AS account_id, a.code, coalesce(s.s, 0)::text AS stored, coalesce(d.d, 0)::text AS derived
         FROM ledger_accounts a LEFT JOIN stored s ON s.account_id = a.id LEFT JOIN derived d ON d.account_id = a.id
        WHERE coalesce(s.s, 0) <> coalesce(d.d, 0) LIMIT ${MAX_REPORTED}`,
    );
    for (const r of posted.rows) {
      discrepancies.push({ kind: "posted_mismatch", accountId: r.account_id, expected: r.derived, actual: r.stored, message: `account ${r.code}: stored posted ${r.stored} <> sum of postings ${r.derived}` });
    }
    const pending = await client.query<{ account_id: string; code: string; stored: string; derived: string }>(
      `WITH stored AS (SELECT account_id, sum(pending_minor) AS s FROM account_balances GROUP BY account_id),
            derived AS (SELECT a.id AS account_id, sum(h.amount_minor) AS d FROM holds h
                          JOIN ledger_accounts a ON (h.debit_account_id = a.id AND a.normal_side = 'credit') OR (h.credit_account_id = a.id AND a.normal_side = 'debit')
                         WHERE h.status = 'pending' GROUP BY a.id)
       SELECT a.id AS account_id, a.code, coalesce(s.s, 0)::text AS stored, coalesce(d.d, 0)::text AS derived
         FROM ledger_accounts a LEFT JOIN stored s ON s.account_id = a.id LEFT JOIN derived d ON d.account_id = a.id
        WHERE coalesce(s.s, 0) <> coalesce(d.d, 0) LIMIT ${MAX_REPORTED}`,
    );
    for (const r of pending.rows) {
      discrepancies.push({ kind: "pending_mismatch", accountId: r.account_id, expected: r.derived, actual: r.stored, message: `account ${r.code}: stored pending ${r.stored} <> open holds ${r.derived}` });
    }
    const entries = await client.query<{ entry_id: string; currency: string | null; n: string; net: string }>(
      `SELECT e.id AS entry_id, x.currency, coalesce(c.n, 0)::text AS n, coalesce(x.net, 0)::text AS net
         FROM journal_entries e
         LEFT JOIN (SELECT entry_id, count(*) AS n FROM postings GROUP BY entry_id) c ON c.entry_id = e.id
         LEFT JOIN (SELECT entry_id, currency, sum(CASE WHEN side = 'debit' THEN amount_minor::numeric ELSE -amount_minor::numeric END) AS net
                      FROM postings GROUP BY entry_id, currency) x ON x.entry_id = e.id
        WHERE coalesce(c.n, 0) < 2 OR coalesce(x.net, 0) <> 0 LIMIT ${MAX_REPORTED}`,
    );
    for (const r of entries.rows) {
      discrepancies.push({ kind: "entry_unbalanced", entryId: r.entry_id, currency: r.currency ?? undefined, expected: "0", actual: r.net, message: `entry ${r.entry_id}: ${r.n} postings, net ${r.net} ${r.currency ?? ""}`.trim() });
    }
    const currencies = await client.query<{ currency: string; debits: string; credits: string }>(
      `SELECT currency, sum(CASE WHEN side = 'debit' THEN amount_minor::numeric ELSE 0 END)::text AS debits,
              sum(CASE WHEN side = 'credit' THEN amount_minor::numeric ELSE 0 END)::text AS credits
         FROM postings GROUP BY currency ORDER BY currency`,
    );
    for (const r of currencies.rows) {
      if (r.debits !== r.credits) discrepancies.push({ kind: "currency_unbalanced", currency: r.currency, expected: r.debits, actual: r.credits, message: `${r.currency}: debits ${r.debits} <> credits ${r.credits}` });
    }
    const overdrafts = await client.query<{ account_id: string; code: string; available: string }>(
      `SELECT a.id AS account_id, a.code, sum(b.posted_minor - b.pending_minor)::text AS available
         FROM account_balances b JOIN ledger_accounts a ON a.id = b.account_id
        WHERE a.is_no_overdraft GROUP BY a.id, a.code HAVING sum(b.posted_minor - b.pending_minor) < 0 LIMIT ${MAX_REPORTED}`,
    );
    for (const r of overdrafts.rows) {
      discrepancies.push({ kind: "overdraft", accountId: r.account_id, expected: ">= 0", actual: r.available, message: `no-overdraft account ${r.code} has available ${r.available}` });
    }
    const counts = await client.query<{ accounts: string; entries: string; postings: string }>(
      `SELECT (SELECT count(*) FROM ledger_accounts)::text AS accounts, (SELECT count(*) FROM journal_entries)::text AS entries, (SELECT count(*) FROM postings)::text AS postings`,
    );
    await client.query("COMMIT");
    const c = counts.rows[0]!;
    return {
      isOk: discrepancies.length === 0,
      checkedAt: new Date(),
      accounts: Number(c.accounts),
      entries: Number(c.entries),
      postings: Number(c.postings),
      currencies: currencies.rows.map((r) => ({ currency: r.currency, debitsMinor: r.debits, creditsMinor: r.credits })),
      discrepancies,
    };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    releaseClient(client);
  }
}
