/**
 * Generates large camt.053 files for the memory test and the benchmark: one statement of `lines`
 * entries with references `BENCH-<n>`, streamed to disk so the generator itself stays small.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { camt053Chunks } from "../../server/partners/camt053/writer";
import type { StatementEntry } from "../../server/partners/statement-types";

export interface GeneratedStatement {
  path: string;
  lines: number;
  bytes: number;
  /** Credits minus debits, minor units. */
  netMinor: bigint;
}

/** The n-th generated entry (deterministic): alternating debits and credits of varied amounts. */
export function benchEntry(n: number, currency = "EUR", date = "2026-11-20"): Omit<StatementEntry, "index" | "place"> {
  const amountMinor = BigInt(100 + ((n * 7919) % 500_000));
  return {
    amountMinor,
    currency,
    direction: n % 3 === 0 ? "credit" : "debit",
    status: "BOOK",
    isReversal: false,
    bookingDate: date,
    valueDate: date,
    accountServicerReference: `ASR-${n}`,
    endToEndId: `BENCH-${n}`,
    remittanceInfo: `payment ${n}`,
    counterpartyName: "Counterparty Ltd",
    counterpartyAccount: "NL91ABNA0417164300",
    bankTransactionCode: "PMNT/ICDT/ESCT",
    additionalInfo: null,
    details: [],
  };
}

export async function writeBenchStatement(path: string, lines: number, opts: { iban?: string; currency?: string; date?: string; statementId?: string; openingMinor?: bigint } = {}): Promise<GeneratedStatement> {
  const currency = opts.currency ?? "EUR";
  let net = 0n;
  for (let n = 0; n < lines; n++) {
    const e = benchEntry(n, currency);
    net += e.direction === "credit" ? e.amountMinor : -e.amountMinor;
  }
  const opening = opts.openingMinor ?? 10n ** 12n;
  const closing = opening + net;
  const date = opts.date ?? "2026-11-20";
  function* entries() {
    for (let n = 0; n < lines; n++) yield benchEntry(n, currency, date);
  }
  const out = createWriteStream(path);
  let bytes = 0;
  let buffer = "";
  for (const chunk of camt053Chunks({
    version: "001.08",
    messageId: `BENCH-${lines}`,
    createdAt: `${date}T23:00:00Z`,
    statements: [
      {
        statementId: opts.statementId ?? `BENCH-${lines}`,
        electronicSequenceNumber: "1",
        accountIban: opts.iban ?? "NL91ABNA0417164300",
        accountCurrency: currency,
        openingBalance: { amountMinor: opening < 0n ? -opening : opening, currency, direction: opening < 0n ? "debit" : "credit", date },
        closingBalance: { amountMinor: closing < 0n ? -closing : closing, currency, direction: closing < 0n ? "debit" : "credit", date },
        entries: entries(),
      },
    ],
  })) {
    buffer += chunk;
    if (buffer.length >= 1 << 20) {
      bytes += Buffer.byteLength(buffer);
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  bytes += Buffer.byteLength(buffer);
  out.end(buffer);
  await once(out, "finish");
  return { path, lines, bytes, netMinor: net };
}
