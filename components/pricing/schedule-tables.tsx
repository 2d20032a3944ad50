"use client";
/**
 * A fee schedule's tables on the kit's DataTable: its versions (newest first, each linking to
 * itself and to a comparison with the one before), the rules of one version, and the rule-by-rule
 * difference between two versions. Amounts in a definition are integer minor-unit strings; they
 * are shown in the rule's currency, exactly.
 */
import Link from "next/link";
import { formatAmount } from "../../server/money/amount";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

type VersionRow = RouterOutputs["pricing"]["scheduleVersions"][number];
type RuleRow = VersionRow["definition"]["rules"][number];
type ChangeRow = RouterOutputs["pricing"]["diffVersions"]["changes"][number];

interface VersionsMeta {
  code: string;
  selected: number;
  inForce: number | null;
}

const versionColumns: ColumnDef<VersionRow>[] = [
  {
    id: "version",
    header: "Version",
    meta: { isRowHeader: true },
    cell: ({ row: { original: v }, table }) => {
      const { code, selected, inForce } = table.options.meta as VersionsMeta;
      return (
        <span className="flex items-center gap-2">
          {v.version === selected ? (
            <span aria-current="true" className="font-semibold">
              v{v.version}
            </span>
          ) : (
            <Link href={`/pricing/schedules/${encodeURIComponent(code)}?version=${v.version}`} className={linkClass}>
              v{v.version}
            </Link>
          )}
          {v.version === inForce ? <Badge tone="good">in force</Badge> : null}
        </span>
      );
    },
  },
  { id: "effective", header: "Effective from (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.effectiveFrom) },
  { id: "by", header: "Approved by", cell: ({ row }) => row.original.createdBy },
  {
    id: "proposal",
    header: "Proposal",
    cell: ({ row: { original: v } }) =>
      v.proposalId ? (
        <Link href={`/approvals/${v.proposalId}`} className={linkClass}>
          proposal
        </Link>
      ) : (
        <span className="text-xs text-zinc-500 dark:text-zinc-400">seeded</span>
      ),
  },
  {
    id: "compare",
    header: "Compare",
    meta: { isHeaderHidden: true },
    cell: ({ row: { original: v }, table }) => {
      const { code } = table.options.meta as VersionsMeta;
      return v.version > 1 ? (
        <Link href={`/pricing/schedules/${encodeURIComponent(code)}?version=${v.version}&against=${v.version - 1}`} className={linkClass}>
          changes from v{v.version - 1}
        </Link>
      ) : null;
    },
  },
];

export function VersionsTable({ rows, code, selected, inForce }: { rows: readonly VersionRow[]; code: string; selected: number; inForce: number | null }) {
  const meta: VersionsMeta = { code, selected, inForce };
  return <DataTable columns={versionColumns} rows={rows} getRowId={(v) => v.versionId} caption={`Versions of ${code}, newest first`} meta={meta} />;
}

function money(minor: string | null | undefined, currency: string): string {
  return minor === null || minor === undefined ? "—" : `${formatAmount(BigInt(minor), currency)} ${currency}`;
}

function tierText(t: RuleRow["tiers"][number], currency: string): string {
  const range = `${money(t.fromMinor, currency)} ${t.toMinor === null ? "and up" : `to ${money(t.toMinor, currency)} (excl.)`}`;
  const rate = t.rateBps !== undefined ? `${t.rateBps} bps` : `rate ${t.rate}`;
  return `${t.label ? `${t.label}: ` : ""}${range}: ${money(t.fixedMinor, currency)} + ${rate}`;
}

const ruleColumns: ColumnDef<RuleRow>[] = [
  { id: "id", header: "Rule", meta: { isRowHeader: true, className: "font-mono text-xs" }, cell: ({ row }) => row.original.id },
  {
    id: "applies",
    header: "Applies to",
    cell: ({ row: { original: r } }) => `${r.currency}, ${r.customerId !== null ? `customer ${r.customerId}` : r.segment !== null ? `segment ${r.segment}` : "default"}`,
  },
  {
    id: "tiers",
    header: "Tiers",
    cell: ({ row: { original: r } }) => (
      <ul className="space-y-0.5 font-mono text-xs">
        {r.tiers.map((t, i) => (
          <li key={i}>{tierText(t, r.currency)}</li>
        ))}
      </ul>
    ),
  },
  { id: "min", header: "Minimum", meta: { align: "right", className: "font-mono text-xs" }, cell: ({ row: { original: r } }) => money(r.minMinor, r.currency) },
  { id: "max", header: "Maximum", meta: { align: "right", className: "font-mono text-xs" }, cell: ({ row: { original: r } }) => money(r.maxMinor, r.currency) },
  { id: "rounding", header: "Rounding", cell: ({ row: { original: r } }) => `${r.rounding}${r.allowFeeAboveAmount ? ", may exceed the amount" : ""}` },
];

export function RulesTable({ rows, caption }: { rows: readonly RuleRow[]; caption: string }) {
  return <DataTable columns={ruleColumns} rows={rows} getRowId={(r) => r.id} caption={caption} isCaptionVisible empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">This version has no rules: every currency is refused on its rail.</p>} />;
}

interface ChangeLine {
  key: string;
  ruleId: string;
  change: ChangeRow["change"];
  field: string;
  before: string;
  after: string;
}

const changeColumns: ColumnDef<ChangeLine>[] = [
  { id: "rule", header: "Rule", meta: { isRowHeader: true, className: "font-mono text-xs" }, cell: ({ row }) => row.original.ruleId },
  { id: "change", header: "Change", cell: ({ row: { original: c } }) => <Badge tone={c.change === "added" ? "good" : c.change === "removed" ? "bad" : "info"}>{c.change}</Badge> },
  { id: "field", header: "Field", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.field },
  { id: "before", header: "Before", meta: { className: "font-mono text-xs break-all" }, cell: ({ row }) => row.original.before },
  { id: "after", header: "After", meta: { className: "font-mono text-xs break-all" }, cell: ({ row }) => row.original.after },
];

export function DiffTable({ changes, caption }: { changes: readonly ChangeRow[]; caption: string }) {
  const lines: ChangeLine[] = changes.flatMap((c) =>
    c.fields.length === 0
      ? [{ key: c.ruleId, ruleId: c.ruleId, change: c.change, field: "—", before: c.change === "added" ? "—" : "(the rule)", after: c.change === "removed" ? "—" : "(the rule)" }]
      : c.fields.map((f) => ({ key: `${c.ruleId}:${f.field}`, ruleId: c.ruleId, change: c.change, field: f.field, before: f.before, after: f.after })),
  );
  return <DataTable columns={changeColumns} rows={lines} getRowId={(l) => l.key} caption={caption} isCaptionVisible empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No rule changed between these versions.</p>} />;
}
