"use client";
/**
 * The "New adjustment" form: a journal entry (postings editor with account-code lookup and exact
 * decimal amounts) or the reversal of an entry, with a reason and optional evidence. "Preview"
 * asks the server for the ledger's dry run; "Propose" stores the proposal (one idempotency key per
 * draft, so a double submit proposes once) and opens it. Amounts stay strings until the server
 * parses them exactly: "8.855" EUR is refused, never rounded.
 */
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { inputClass, labelClass } from "../ui";
import { Money } from "../ledger/money";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { formatAmount, parseAmount } from "../../server/money/amount";
import { PreviewView, type PreviewData } from "./preview-view";

type Side = "debit" | "credit";
interface Row {
  key: number;
  accountCode: string;
  side: Side;
  amount: string;
}

/** What the postings editor's cells need from the form (through the table's meta). */
interface EditorMeta {
  update: (key: number, patch: Partial<Row>) => void;
  remove: (key: number) => void;
  lookUp: (codePrefix: string) => void;
  currencyOf: (code: string) => string | undefined;
  canRemove: boolean;
}

const editor = (meta: unknown) => meta as EditorMeta;

/** Module-level columns, so a cell keeps its input's focus while the form re-renders on each key. */
const postingColumns: ColumnDef<Row>[] = [
  {
    id: "account",
    header: "Account code",
    cell: ({ row, table }) => (
      <input
        aria-label={`Account code, line ${row.index + 1}`}
        list="adj-account-codes"
        value={row.original.accountCode}
        onChange={(e) => {
          editor(table.options.meta).update(row.original.key, { accountCode: e.target.value });
          editor(table.options.meta).lookUp(e.target.value.trim());
        }}
        onFocus={(e) => editor(table.options.meta).lookUp(e.target.value.trim())}
        className={`${inputClass} font-mono`}
        placeholder="customer:0001:wallet"
        autoComplete="off"
      />
    ),
  },
  {
    id: "side",
    header: "Side",
    cell: ({ row, table }) => (
      <select aria-label={`Side, line ${row.index + 1}`} value={row.original.side} onChange={(e) => editor(table.options.meta).update(row.original.key, { side: e.target.value as Side })} className={inputClass}>
        <option value="debit">debit</option>
        <option value="credit">credit</option>
      </select>
    ),
  },
  {
    id: "amount",
    header: "Amount",
    cell: ({ row, table }) => (
      <input
        aria-label={`Amount, line ${row.index + 1}`}
        inputMode="decimal"
        value={row.original.amount}
        onChange={(e) => editor(table.options.meta).update(row.original.key, { amount: e.target.value })}
        className={`${inputClass} w-36 text-right font-mono`}
        placeholder="12.50"
      />
    ),
  },
  {
    id: "currency",
    header: "Currency",
    meta: { className: "font-mono text-xs text-zinc-600 dark:text-zinc-400" },
    cell: ({ row, table }) => editor(table.options.meta).currencyOf(row.original.accountCode.trim()) ?? "—",
  },
  {
    id: "remove",
    header: "Remove",
    meta: { isHeaderHidden: true },
    cell: ({ row, table }) => (
      <Button variant="ghost" disabled={!editor(table.options.meta).canRemove} aria-label={`Remove line ${row.index + 1}`} onClick={() => editor(table.options.meta).remove(row.original.key)}>
        ×
      </Button>
    ),
  },
];

const MAX_FILE_BYTES = 1024 * 1024;
const FILE_TYPES = ["application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv"];

function emptyRow(key: number, side: Side): Row {
  return { key, accountCode: "", side, amount: "" };
}

async function fileToBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function NewAdjustmentForm({ initialKind, initialEntryId }: { initialKind: "journal_entry" | "reversal"; initialEntryId: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const [kind, setKind] = useState<"journal_entry" | "reversal">(initialKind);
  const [description, setDescription] = useState("");
  const [rows, setRows] = useState<Row[]>([emptyRow(1, "debit"), emptyRow(2, "credit")]);
  const [nextKey, setNextKey] = useState(3);
  const [entryId, setEntryId] = useState(initialEntryId);
  const [reason, setReason] = useState("");
  const [evidenceUrl, setEvidenceUrl] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [lookup, setLookup] = useState("");
  const [known, setKnown] = useState<Record<string, { currency: string; name: string }>>({});
  const [idempotencyKey, setIdempotencyKey] = useState(() => `console:propose:${crypto.randomUUID()}`);
  const [error, setError] = useState<string | null>(null);
  const [preview, setPreview] = useState<{ preview: PreviewData; requiredApprovals: number; expiryHours: number } | null>(null);
  const previewMutation = useMutation(trpc.approvals.preview.mutationOptions());
  const propose = useMutation(trpc.approvals.propose.mutationOptions());

  // Suggestions for the account code being typed (prefix search, at most 10).
  const suggestions = useQuery({
    ...trpc.ledger.accounts.list.queryOptions({ codePrefix: lookup, limit: 10 }),
    enabled: kind === "journal_entry" && lookup.length >= 2,
  });
  const suggestionItems = suggestions.data?.items;
  useEffect(() => {
    if (!suggestionItems) return;
    setKnown((k) => {
      const next = { ...k };
      for (const a of suggestionItems) next[a.code] = { currency: a.currency, name: a.name };
      return next;
    });
  }, [suggestionItems]);

  const payload = kind === "journal_entry" ? { description, postings: rows.map((r) => ({ accountCode: r.accountCode.trim(), side: r.side, amount: r.amount.trim() })) } : { entryId: entryId.trim() };

  // Running totals per currency, exact (bigint), for rows whose account and amount are known.
  const totals = useMemo(() => {
    const t = new Map<string, { debit: bigint; credit: bigint }>();
    const problems: string[] = [];
    rows.forEach((r, i) => {
      const currency = known[r.accountCode.trim()]?.currency;
      if (!currency || !r.amount.trim()) return;
      try {
        const v = parseAmount(r.amount.trim(), currency, { allowZero: false });
        const cur = t.get(currency) ?? { debit: 0n, credit: 0n };
        cur[r.side] += v;
        t.set(currency, cur);
      } catch (e) {
        problems.push(`Line ${i + 1}: ${errorMessageOf(e)}`);
      }
    });
    return { t, problems };
  }, [rows, known]);

  function updateRow(key: number, patch: Partial<Row>) {
    setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));
    setPreview(null);
  }

  const editorMeta: EditorMeta = {
    update: updateRow,
    remove: (key) => {
      setRows((rs) => rs.filter((x) => x.key !== key));
      setPreview(null);
    },
    lookUp: setLookup,
    currencyOf: (code) => known[code]?.currency,
    canRemove: rows.length > 2,
  };

  async function runPreview() {
    setError(null);
    try {
      const r = await previewMutation.mutateAsync({ kind, payload });
      setPreview({ preview: r.preview, requiredApprovals: r.requiredApprovals, expiryHours: r.expiryHours });
    } catch (e) {
      setPreview(null);
      setError(errorMessageOf(e));
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (reason.trim().length === 0) {
      setError("Give a reason: approvers decide on it and it goes into the audit log.");
      return;
    }
    let evidenceFile: { fileName: string; contentType: string; contentBase64: string } | null = null;
    if (file) {
      if (file.size > MAX_FILE_BYTES) {
        setError(`The evidence file is ${file.size} bytes; at most ${MAX_FILE_BYTES} are accepted.`);
        return;
      }
      evidenceFile = { fileName: file.name, contentType: file.type || "application/octet-stream", contentBase64: await fileToBase64(file) };
    }
    try {
      const r = await propose.mutateAsync({ kind, payload, reason, evidenceUrl: evidenceUrl.trim() || null, evidenceFile, idempotencyKey });
      setIdempotencyKey(`console:propose:${crypto.randomUUID()}`);
      toast.success(`Proposed: it needs ${r.requiredApprovals} approval${r.requiredApprovals === 1 ? "" : "s"} by someone else.`);
      router.push(`/approvals/${r.id}`);
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  const isBusy = previewMutation.isPending || propose.isPending;
  return (
    <form onSubmit={submit} aria-label="New adjustment" className="space-y-5">
      <fieldset className="rounded-lg border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
        <legend className="px-1 text-sm font-semibold">What to do</legend>
        <div className="flex gap-4 text-sm">
          {(
            [
              ["journal_entry", "Journal entry (two or more postings)"],
              ["reversal", "Reverse an entry"],
            ] as const
          ).map(([k, label]) => (
            <label key={k} className="flex items-center gap-1.5">
              <input
                type="radio"
                name="kind"
                value={k}
                checked={kind === k}
                onChange={() => {
                  setKind(k);
                  setPreview(null);
                }}
              />
              {label}
            </label>
          ))}
        </div>

        {kind === "journal_entry" ? (
          <div className="mt-4 space-y-3">
            <div>
              <label htmlFor="adj-description" className={labelClass}>
                Entry description
              </label>
              <input id="adj-description" value={description} maxLength={500} onChange={(e) => setDescription(e.target.value)} className={`${inputClass} mt-1`} placeholder="Refund duplicate fee on payment DEMO-0042" />
            </div>
            <datalist id="adj-account-codes">
              {(suggestionItems ?? []).map((a) => (
                <option key={a.id} value={a.code}>
                  {a.name} ({a.currency})
                </option>
              ))}
            </datalist>
            <DataTable columns={postingColumns} rows={rows} getRowId={(r) => String(r.key)} caption="Postings" meta={editorMeta} />
            <Button
              disabled={rows.length >= 100}
              onClick={() => {
                setRows((rs) => [...rs, emptyRow(nextKey, "credit")]);
                setNextKey((k) => k + 1);
              }}
            >
              Add a line
            </Button>
            <div aria-live="polite" className="text-xs text-zinc-600 dark:text-zinc-400">
              {[...totals.t].map(([c, v]) => (
                <p key={c}>
                  {c}: debits <Money amountMinor={v.debit} currency={c} />, credits <Money amountMinor={v.credit} currency={c} />
                  {v.debit !== v.credit ? <span className="ml-2 text-red-700 dark:text-red-400">does not balance (difference {formatAmount(v.debit - v.credit, c)})</span> : null}
                </p>
              ))}
              {totals.problems.map((p) => (
                <p key={p} className="text-red-700 dark:text-red-400">
                  {p}
                </p>
              ))}
            </div>
          </div>
        ) : (
          <div className="mt-4">
            <label htmlFor="adj-entry" className={labelClass}>
              Entry to reverse (id)
            </label>
            <input id="adj-entry" value={entryId} onChange={(e) => setEntryId(e.target.value)} className={`${inputClass} mt-1 font-mono`} placeholder="00000000-0000-4000-8000-000000000000" />
          </div>
        )}
      </fieldset>

      <fieldset className="space-y-3 rounded-lg border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
        <legend className="px-1 text-sm font-semibold">Why</legend>
        <div>
          <label htmlFor="adj-reason" className={labelClass}>
            Reason
          </label>
          <textarea id="adj-reason" rows={3} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} className={`${inputClass} mt-1`} required />
        </div>
        <div>
          <label htmlFor="adj-evidence-url" className={labelClass}>
            Evidence link (optional)
          </label>
          <input id="adj-evidence-url" type="url" value={evidenceUrl} maxLength={2000} onChange={(e) => setEvidenceUrl(e.target.value)} className={`${inputClass} mt-1`} placeholder="https://tickets.example.com/OPS-4711" />
        </div>
        <div>
          <label htmlFor="adj-evidence-file" className={labelClass}>
            Evidence file (optional: PDF, PNG, JPEG, text or CSV, at most 1 MiB)
          </label>
          <input id="adj-evidence-file" type="file" accept={FILE_TYPES.join(",")} onChange={(e) => setFile(e.target.files?.[0] ?? null)} className="mt-1 block text-sm" />
        </div>
      </fieldset>

      {error ? (
        <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      ) : null}

      {preview ? (
        <section aria-label="Preview" className="rounded-lg border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
          <h2 className="mb-2 text-base font-semibold">Preview</h2>
          <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">
            Needs {preview.requiredApprovals} approval{preview.requiredApprovals === 1 ? "" : "s"} by someone other than you; expires {preview.expiryHours} h after it is proposed.
          </p>
          <PreviewView preview={preview.preview} caption="Preview" />
        </section>
      ) : null}

      <div className="flex gap-2">
        <Button onClick={() => void runPreview()} disabled={isBusy}>
          {previewMutation.isPending ? "Previewing…" : "Preview"}
        </Button>
        <Button type="submit" variant="primary" disabled={isBusy}>
          {propose.isPending ? "Proposing…" : "Propose"}
        </Button>
      </div>
    </form>
  );
}
