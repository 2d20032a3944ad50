"use client";
/**
 * What a draft fee schedule version would have charged on a past period's transfers, against
 * what the version in force at each transfer's creation charged: totals per currency and per
 * segment, the customers most affected, and every transfer as CSV. The proposer runs it on the
 * draft before proposing; the approver runs the same on the proposal (pricing.simulateProposal).
 * Read-only: nothing is written.
 */
import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { errorMessageOf, useTRPC } from "../trpc-provider";
import { inputClass, labelClass } from "../ui";
import { Money } from "../ledger/money";
import { Button } from "../kit/button";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

type Simulation = RouterOutputs["pricing"]["simulate"];
type Total = Simulation["byCurrency"][number];
type TopCustomer = Simulation["topCustomers"][number];

function Delta({ minor, currency }: { minor: bigint; currency: string }) {
  return (
    <span className={minor > 0n ? "text-amber-700 dark:text-amber-400" : minor < 0n ? "text-emerald-700 dark:text-emerald-400" : ""}>
      {minor > 0n ? "+" : ""}
      <Money amountMinor={minor} currency={currency} />
    </span>
  );
}

const totalColumns = (withSegment: boolean): ColumnDef<Total>[] => [
  ...(withSegment ? [{ id: "segment", header: "Segment", meta: { isRowHeader: true }, cell: ({ row }: { row: { original: Total } }) => row.original.segment ?? "(none)" } as ColumnDef<Total>] : []),
  { id: "currency", header: "Currency", meta: withSegment ? {} : { isRowHeader: true }, cell: ({ row }) => row.original.currency },
  { id: "transfers", header: "Transfers", meta: { align: "right" }, cell: ({ row }) => row.original.transfers.toLocaleString("en-GB") },
  { id: "current", header: "Charged (in force)", meta: { align: "right" }, cell: ({ row: { original: t } }) => <Money amountMinor={t.currentMinor} currency={t.currency} /> },
  { id: "draft", header: "Draft would charge", meta: { align: "right" }, cell: ({ row: { original: t } }) => <Money amountMinor={t.draftMinor} currency={t.currency} /> },
  { id: "delta", header: "Change", meta: { align: "right" }, cell: ({ row: { original: t } }) => <Delta minor={t.deltaMinor} currency={t.currency} /> },
  { id: "unpriced", header: "Unpriced by the draft", meta: { align: "right" }, cell: ({ row }) => row.original.unpriced },
];
const byCurrencyColumns = totalColumns(false);
const bySegmentColumns = totalColumns(true);

const topColumns: ColumnDef<TopCustomer>[] = [
  { id: "customer", header: "Customer", meta: { isRowHeader: true, className: "font-mono text-xs" }, cell: ({ row: { original: c } }) => `${c.customerId}${c.segment ? ` (${c.segment})` : ""}` },
  { id: "currency", header: "Currency", cell: ({ row }) => row.original.currency },
  { id: "transfers", header: "Transfers", meta: { align: "right" }, cell: ({ row }) => row.original.transfers },
  { id: "current", header: "Charged", meta: { align: "right" }, cell: ({ row: { original: c } }) => <Money amountMinor={c.currentMinor} currency={c.currency} /> },
  { id: "draft", header: "Draft", meta: { align: "right" }, cell: ({ row: { original: c } }) => <Money amountMinor={c.draftMinor} currency={c.currency} /> },
  { id: "delta", header: "Change", meta: { align: "right" }, cell: ({ row: { original: c } }) => <Delta minor={c.deltaMinor} currency={c.currency} /> },
];

export function SimulationView({ result }: { result: Simulation }) {
  return (
    <section aria-label="Simulation result" className="space-y-4">
      <p className="text-sm">
        {result.transfers.toLocaleString("en-GB")} transfer{result.transfers === 1 ? "" : "s"} on rail {result.rail} created from {result.from.toISOString().slice(0, 10)} to{" "}
        {new Date(result.to.getTime() - 1).toISOString().slice(0, 10)} (UTC), each priced by the draft and by the version in force when it was created.
      </p>
      <DataTable columns={byCurrencyColumns} rows={result.byCurrency} getRowId={(t) => t.currency} caption="Totals per currency" isCaptionVisible empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No transfer on this rail in the period.</p>} />
      <DataTable columns={bySegmentColumns} rows={result.bySegment} getRowId={(t) => `${t.segment ?? ""}|${t.currency}`} caption="Totals per segment" isCaptionVisible />
      <DataTable columns={topColumns} rows={result.topCustomers} getRowId={(c) => `${c.currency}|${c.customerId}`} caption="Customers most affected" isCaptionVisible />
    </section>
  );
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** A period of whole UTC days: from 00:00 of `from` to 00:00 after `to`. */
function periodOf(from: string, to: string): { from: Date; to: Date } | string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) return "Choose the first and last day of the period.";
  const f = new Date(`${from}T00:00:00.000Z`);
  const t = new Date(Date.parse(`${to}T00:00:00.000Z`) + 86_400_000);
  if (!(f < t)) return "The period's last day must not be before its first.";
  return { from: f, to: t };
}

function download(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.click();
  URL.revokeObjectURL(url);
}

export type SimulationSubject =
  /** A draft being edited: its definition is read when the simulation runs (null: not valid JSON yet). */
  | { kind: "draft"; rail: string; definition: () => Record<string, unknown> | string }
  /** A proposal, for its approver: the same simulation of what it proposes. */
  | { kind: "proposal"; proposalId: string; rail: string; definition: Record<string, unknown> };

/** The period picker, the Simulate and CSV buttons, and the result. */
export function SimulationPanel({ subject, idPrefix }: { subject: SimulationSubject; idPrefix: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 7 * 86_400_000)));
  const [to, setTo] = useState(isoDay(today));
  const [result, setResult] = useState<Simulation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setIsBusy] = useState(false);

  const inputs = () => {
    const period = periodOf(from, to);
    if (typeof period === "string") return period;
    const definition = subject.kind === "draft" ? subject.definition() : subject.definition;
    if (typeof definition === "string") return definition;
    return { period, definition };
  };

  async function run(what: "summary" | "csv") {
    setError(null);
    const i = inputs();
    if (typeof i === "string") {
      setError(i);
      return;
    }
    setIsBusy(true);
    try {
      const draft = { rail: subject.rail, definition: i.definition, from: i.period.from, to: i.period.to };
      if (what === "csv") {
        const { csv } = await queryClient.fetchQuery({ ...trpc.pricing.simulationCsv.queryOptions(draft), staleTime: 0, gcTime: 0 });
        download(`simulation-${subject.rail}-${from}-${to}.csv`, csv);
      } else {
        const r =
          subject.kind === "proposal"
            ? await queryClient.fetchQuery({ ...trpc.pricing.simulateProposal.queryOptions({ proposalId: subject.proposalId, from: i.period.from, to: i.period.to }), staleTime: 0, gcTime: 0 })
            : await queryClient.fetchQuery({ ...trpc.pricing.simulate.queryOptions(draft), staleTime: 0, gcTime: 0 });
        setResult(r);
      }
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setIsBusy(false);
    }
  }

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor={`${idPrefix}-from`} className={labelClass}>
            Simulate from (UTC day)
          </label>
          <input id={`${idPrefix}-from`} type="date" value={from} onChange={(e) => setFrom(e.target.value)} className={`${inputClass} mt-1`} />
        </div>
        <div>
          <label htmlFor={`${idPrefix}-to`} className={labelClass}>
            to (UTC day, included)
          </label>
          <input id={`${idPrefix}-to`} type="date" value={to} onChange={(e) => setTo(e.target.value)} className={`${inputClass} mt-1`} />
        </div>
        <Button onClick={() => void run("summary")} disabled={isBusy}>
          {isBusy ? "Simulating…" : "Simulate"}
        </Button>
        <Button variant="ghost" onClick={() => void run("csv")} disabled={isBusy}>
          Download every transfer (CSV)
        </Button>
      </div>
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      {result ? <SimulationView result={result} /> : null}
    </div>
  );
}
