"use client";
/**
 * Reference rates in the console: a currency's ECB rate (units per 1 EUR) over a chosen range as a
 * recharts line, the file import, the imports so far and the spreads quotes apply.
 */
import { useRef, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { errorMessageOf, useTRPC } from "../trpc-provider";
import { useToast } from "../toast";
import { formatUtc, inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

type RatePoint = RouterOutputs["pricing"]["listRates"]["points"][number];
type ImportRow = RouterOutputs["pricing"]["listRateImports"]["items"][number];
type SpreadRow = RouterOutputs["pricing"]["listSpreads"][number];

interface ChartRow {
  t: number;
  /** Display-only position on the y-axis; the exact rate is `exact`. */
  y: number;
  exact: string;
  date: string;
  source: RatePoint["source"];
}

export function RatesChart({ points, currency, title }: { points: readonly RatePoint[]; currency: string; title: string }) {
  const rows: ChartRow[] = points.map((p) => ({ t: Date.parse(`${p.date}T00:00:00Z`), y: Number(p.rate), exact: p.rate, date: p.date, source: p.source }));
  const first = points[0];
  const last = points.at(-1);
  return (
    <figure aria-label={title} className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="h-72 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
            <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={(v: number) => new Date(v).toISOString().slice(0, 10)} tick={{ fontSize: 11 }} minTickGap={40} />
            <YAxis width={80} domain={["auto", "auto"]} tick={{ fontSize: 11 }} />
            <Tooltip
              labelFormatter={(v) => new Date(Number(v)).toISOString().slice(0, 10)}
              formatter={(_v, _n, item) => {
                const r = item.payload as ChartRow;
                return [`1 EUR = ${r.exact} ${currency}${r.source === "manual" ? " (entered by hand)" : ""}`, "Reference rate"];
              }}
            />
            <Line type="stepAfter" dataKey="y" stroke="#0369a1" dot={points.length <= 60} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
        {first && last
          ? `${points.length} reference dates from ${first.date} (1 EUR = ${first.rate} ${currency}) to ${last.date} (1 EUR = ${last.rate} ${currency}). Rates are exact as published; the line's height is drawn for display only (hover for the exact rate).`
          : null}
      </figcaption>
    </figure>
  );
}

const importColumns: ColumnDef<ImportRow>[] = [
  { id: "at", header: "Imported (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
  { id: "file", header: "File", meta: { isRowHeader: true }, cell: ({ row: { original: i } }) => <span className="break-all">{i.fileName}</span> },
  { id: "range", header: "Dates", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row: { original: i } }) => `${i.firstDate} to ${i.lastDate}` },
  { id: "days", header: "Days", meta: { align: "right" }, cell: ({ row }) => row.original.dayCount.toLocaleString("en-GB") },
  { id: "rates", header: "Rates in file", meta: { align: "right" }, cell: ({ row }) => row.original.rateCount.toLocaleString("en-GB") },
  { id: "new", header: "New", meta: { align: "right" }, cell: ({ row }) => row.original.insertedCount.toLocaleString("en-GB") },
  { id: "by", header: "By", cell: ({ row }) => row.original.importedBy },
  { id: "sha", header: "SHA-256", meta: { className: "font-mono text-xs" }, cell: ({ row }) => `${row.original.sha256.slice(0, 12)}…` },
];

export function ImportsTable({ rows }: { rows: readonly ImportRow[] }) {
  return (
    <DataTable
      columns={importColumns}
      rows={rows}
      getRowId={(i) => i.importId}
      caption="Rate imports, newest first"
      empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No rates imported yet: quotes across currencies are refused (RATE_NOT_FOUND) until a file is imported.</p>}
    />
  );
}

const spreadColumns: ColumnDef<SpreadRow>[] = [
  { id: "pair", header: "Pair", meta: { isRowHeader: true }, cell: ({ row: { original: s } }) => (s.fromCurrency === "*" ? "any pair" : `${s.fromCurrency} → ${s.toCurrency}`) },
  { id: "segment", header: "Segment", cell: ({ row }) => row.original.segment || "any" },
  { id: "bps", header: "Spread (bps)", meta: { align: "right", className: "font-mono" }, cell: ({ row }) => row.original.spreadBps },
  { id: "updated", header: "Set (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row: { original: s } }) => `${formatUtc(s.updatedAt)} by ${s.updatedBy}` },
];

export function SpreadsTable({ rows }: { rows: readonly SpreadRow[] }) {
  return (
    <DataTable
      columns={spreadColumns}
      rows={rows}
      getRowId={(s) => `${s.fromCurrency}/${s.toCurrency}/${s.segment}`}
      caption="Spreads taken off the mid rate (the pair's row before any pair, the segment's before any segment)"
      isCaptionVisible
      empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No spread set: quotes convert at the mid rate.</p>}
    />
  );
}

/** The largest file importRates accepts (server/pricing/ecb-csv.ts MAX_RATES_FILE_BYTES). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export function RateImportForm() {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const fileRef = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<string | null>(null);
  const importRates = useMutation(trpc.pricing.importRates.mutationOptions());

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const file = fileRef.current?.files?.[0];
    if (!file) return setError("Choose an ECB reference-rate CSV file.");
    if (file.size > MAX_FILE_BYTES) return setError(`${file.name} is ${file.size.toLocaleString("en-GB")} bytes; at most ${MAX_FILE_BYTES.toLocaleString("en-GB")} are accepted.`);
    try {
      const r = await importRates.mutateAsync({ fileName: file.name, text: await file.text() });
      toast.success(r.isReplay ? `${file.name} was imported before (same file): nothing changed.` : `Imported ${r.insertedCount.toLocaleString("en-GB")} new rates (${r.firstDate} to ${r.lastDate}).`);
      if (fileRef.current) fileRef.current.value = "";
      router.refresh();
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <form onSubmit={submit} aria-label="Import reference rates" className="flex flex-wrap items-end gap-3 text-sm">
      <div>
        <label htmlFor="rates-file" className={labelClass}>
          ECB reference-rate CSV (eurofxref-hist.csv or eurofxref.csv)
        </label>
        <input id="rates-file" ref={fileRef} type="file" accept=".csv,text/csv" className={`${inputClass} mt-1`} />
      </div>
      <Button type="submit" variant="primary" disabled={importRates.isPending}>
        {importRates.isPending ? "Importing…" : "Import"}
      </Button>
      {error ? (
        <p role="alert" className="w-full text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <p className="w-full text-xs text-zinc-600 dark:text-zinc-400">
        The whole file is checked first: a malformed row or a rate that disagrees with a stored one imports nothing and names the line. The same file again changes nothing.
      </p>
    </form>
  );
}
