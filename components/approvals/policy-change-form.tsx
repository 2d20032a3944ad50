"use client";
/**
 * Proposing a new approval policy (permission approvals:policy). The change itself needs an
 * approver other than the proposer; until then the policy in force is unchanged. Thresholds are
 * exact decimals in each currency's major unit; a currency left out always needs two approvers.
 */
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef } from "../kit/data-table";

interface Row {
  key: number;
  currency: string;
  amount: string;
}

interface EditorMeta {
  update: (key: number, patch: Partial<Row>) => void;
}

/** Module-level columns (stable cells keep an input's focus while typing); edits go through the table's meta. */
const columns: ColumnDef<Row>[] = [
  {
    id: "currency",
    header: "Currency",
    cell: ({ row, table }) => (
      <input
        aria-label={`Currency, line ${row.index + 1}`}
        value={row.original.currency}
        maxLength={3}
        onChange={(e) => (table.options.meta as EditorMeta).update(row.original.key, { currency: e.target.value })}
        className={`${inputClass} w-20 font-mono uppercase`}
      />
    ),
  },
  {
    id: "amount",
    header: "Two approvers from",
    cell: ({ row, table }) => (
      <input
        aria-label={`Threshold, line ${row.index + 1}`}
        inputMode="decimal"
        value={row.original.amount}
        onChange={(e) => (table.options.meta as EditorMeta).update(row.original.key, { amount: e.target.value })}
        className={`${inputClass} w-40 text-right font-mono`}
      />
    ),
  },
];

export function PolicyChangeForm({ version, thresholds, expiryHours }: { version: number; thresholds: { currency: string; amount: string }[]; expiryHours: number | null }) {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const [rows, setRows] = useState<Row[]>(thresholds.map((t, i) => ({ key: i, currency: t.currency, amount: t.amount })));
  const [nextKey, setNextKey] = useState(thresholds.length);
  const [expiry, setExpiry] = useState(expiryHours === null ? "" : String(expiryHours));
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [idempotencyKey] = useState(() => `console:policy:${crypto.randomUUID()}`);
  const propose = useMutation(trpc.approvals.policy.propose.mutationOptions());
  const meta: EditorMeta = { update: (key, patch) => setRows((rs) => rs.map((x) => (x.key === key ? { ...x, ...patch } : x))) };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const hours = expiry.trim() === "" ? null : /^\d{1,3}$/.test(expiry.trim()) ? Number(expiry.trim()) : NaN;
    if (Number.isNaN(hours)) {
      setError("Expiry must be a whole number of hours, or empty for the configured default.");
      return;
    }
    try {
      const r = await propose.mutateAsync({
        basedOnVersion: version,
        thresholds: Object.fromEntries(rows.filter((x) => x.currency.trim()).map((x) => [x.currency.trim().toUpperCase(), x.amount.trim()])),
        expiryHours: hours,
        reason,
        idempotencyKey,
      });
      toast.success("Policy change proposed; an approver must approve it.");
      router.push(`/approvals/${r.id}`);
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <form onSubmit={submit} aria-label="Propose a policy change" className="space-y-3 rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-800 dark:bg-zinc-900">
      <DataTable columns={columns} rows={rows} getRowId={(r) => String(r.key)} caption="Two-approver thresholds" meta={meta} className="max-w-md" />
      <Button
        onClick={() => {
          setRows((rs) => [...rs, { key: nextKey, currency: "", amount: "" }]);
          setNextKey((k) => k + 1);
        }}
      >
        Add a currency
      </Button>
      <div>
        <label htmlFor="policy-expiry" className={labelClass}>
          Proposals expire after (hours; empty: configured default)
        </label>
        <input id="policy-expiry" inputMode="numeric" value={expiry} onChange={(e) => setExpiry(e.target.value)} className={`${inputClass} mt-1 w-28`} />
      </div>
      <div>
        <label htmlFor="policy-reason" className={labelClass}>
          Reason
        </label>
        <textarea id="policy-reason" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} className={`${inputClass} mt-1`} required />
      </div>
      {error ? (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <Button type="submit" variant="primary" disabled={propose.isPending}>
        {propose.isPending ? "Proposing…" : "Propose policy change"}
      </Button>
    </form>
  );
}
