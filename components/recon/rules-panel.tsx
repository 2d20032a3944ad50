"use client";
/**
 * The Rules page's working part: write a draft (the rules as JSON, checked by the server), see
 * how it differs from the active version rule by rule, backtest it over a past period of a source
 * (nothing changes: both versions run from scratch and are compared line by line), and propose
 * its activation (four eyes: an approver applies it).
 */
import { useMemo, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { Card, inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { ReasonDialog } from "../kit/reason-dialog";
import { DataTable, type ColumnDef } from "../kit/data-table";
import type { RouterOutputs } from "../kit/api-types";

type RuleSet = RouterOutputs["recon"]["rules"]["list"][number];
type Backtest = RouterOutputs["recon"]["rules"]["backtest"];

interface RuleDiffRow {
  kind: string;
  active: string;
  draft: string;
  isChanged: boolean;
}

/** Per rule kind: the active and the draft parameters, for the diff. */
export function ruleDiff(active: RuleSet | undefined, draft: RuleSet): RuleDiffRow[] {
  const kinds = [...new Set([...(active?.rules ?? []).map((r) => r.kind), ...draft.rules.map((r) => r.kind)])];
  const text = (rs: RuleSet | undefined, kind: string) => {
    const i = rs?.rules.findIndex((r) => r.kind === kind) ?? -1;
    if (!rs || i < 0) return "—";
    const { kind: _k, ...rest } = rs.rules[i]!;
    return `#${i + 1} ${JSON.stringify(rest)}`;
  };
  const rows: RuleDiffRow[] = kinds.map((k) => ({ kind: k, active: text(active, k), draft: text(draft, k), isChanged: text(active, k) !== text(draft, k) }));
  rows.push({ kind: "auto-apply threshold", active: String(active?.autoApplyThreshold ?? "—"), draft: String(draft.autoApplyThreshold), isChanged: active?.autoApplyThreshold !== draft.autoApplyThreshold });
  return rows;
}

/** The diff's columns, whose headers name the two versions. */
function diffColumns(activeVersion: number | undefined, draftVersion: number | undefined): ColumnDef<RuleDiffRow>[] {
  return [
    { id: "kind", header: "Rule", meta: { isRowHeader: true }, cell: ({ row }) => row.original.kind },
    { id: "active", header: `Active (v${activeVersion ?? "—"})`, meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.active },
    { id: "draft", header: `Draft (v${draftVersion ?? "—"})`, meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.draft },
  ];
}

export function RulesPanel({ ruleSets, sources, canEdit }: { ruleSets: RuleSet[]; sources: { id: string; name: string }[]; canEdit: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const active = ruleSets.find((r) => r.status === "active");
  const [json, setJson] = useState(JSON.stringify(active?.rules ?? [], null, 2));
  const [threshold, setThreshold] = useState(String(active?.autoApplyThreshold ?? 90));
  const [note, setNote] = useState("");
  const [selected, setSelected] = useState<number | null>(ruleSets.find((r) => r.status === "draft")?.version ?? null);
  const [bt, setBt] = useState<{ sourceId: string; from: string; to: string }>({ sourceId: sources[0]?.id ?? "", from: new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10), to: new Date().toISOString().slice(0, 10) });
  const [result, setResult] = useState<Backtest | null>(null);
  const [isProposing, setIsProposing] = useState(false);
  const createDraft = useMutation(trpc.recon.rules.createDraft.mutationOptions());
  const backtest = useMutation(trpc.recon.rules.backtest.mutationOptions());
  const propose = useMutation(trpc.recon.rules.proposeActivation.mutationOptions());
  const draft = ruleSets.find((r) => r.version === selected && r.status === "draft");
  // Memoised: a new column array per render would remount the table's cells.
  const columns = useMemo(() => diffColumns(active?.version, draft?.version), [active?.version, draft?.version]);

  return (
    <div className="space-y-4">
      {canEdit ? (
        <Card title="New draft">
          <form
            className="space-y-2 text-sm"
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                const rules = JSON.parse(json) as unknown[];
                const d = await createDraft.mutateAsync({ rules, autoApplyThreshold: Number(threshold), note, idempotencyKey: `console:recon-rules-draft:${crypto.randomUUID()}` });
                toast.success(`Draft version ${d.version} saved`);
                setSelected(d.version);
                router.refresh();
              } catch (err) {
                toast.error(err instanceof SyntaxError ? `the rules are not JSON: ${err.message}` : errorMessageOf(err));
              }
            }}
          >
            <label className={labelClass} htmlFor="rules-json">
              Rules, in priority order (JSON)
            </label>
            <textarea id="rules-json" className={`${inputClass} h-56 font-mono text-xs`} value={json} onChange={(e) => setJson(e.target.value)} />
            <div className="flex flex-wrap gap-3">
              <div>
                <label className={labelClass} htmlFor="rules-threshold">
                  Auto-apply threshold (0-100)
                </label>
                <input id="rules-threshold" className={inputClass} inputMode="numeric" value={threshold} onChange={(e) => setThreshold(e.target.value.replace(/\D/g, "").slice(0, 3))} />
              </div>
              <div className="flex-1">
                <label className={labelClass} htmlFor="rules-note">
                  Note
                </label>
                <input id="rules-note" className={inputClass} value={note} onChange={(e) => setNote(e.target.value)} />
              </div>
            </div>
            <Button type="submit" disabled={createDraft.isPending}>
              {createDraft.isPending ? "Working…" : "Save as a new draft"}
            </Button>
          </form>
        </Card>
      ) : null}
      <Card title="Draft: diff, backtest, activation">
        <div className="space-y-3 text-sm">
          <label className={labelClass} htmlFor="draft-pick">
            Draft
          </label>
          <select id="draft-pick" className={inputClass} value={selected ?? ""} onChange={(e) => setSelected(e.target.value ? Number(e.target.value) : null)}>
            <option value="">Choose a draft</option>
            {ruleSets
              .filter((r) => r.status === "draft")
              .map((r) => (
                <option key={r.version} value={r.version}>
                  Version {r.version} {r.note ? `— ${r.note}` : ""}
                </option>
              ))}
          </select>
          {draft ? (
            <>
              <DataTable
                columns={columns}
                rows={ruleDiff(active, draft)}
                getRowId={(d) => d.kind}
                caption="Active version and draft, rule by rule"
                rowClassName={(d) => (d.isChanged ? "bg-amber-50 dark:bg-amber-950/30" : undefined)}
              />
              {canEdit ? (
                <form
                  className="flex flex-wrap items-end gap-2"
                  onSubmit={async (e) => {
                    e.preventDefault();
                    try {
                      setResult(await backtest.mutateAsync({ version: draft.version, sourceId: bt.sourceId, periodFrom: bt.from, periodTo: bt.to }));
                    } catch (err) {
                      toast.error(errorMessageOf(err));
                    }
                  }}
                >
                  <div>
                    <label className={labelClass} htmlFor="bt-source">
                      Source
                    </label>
                    <select id="bt-source" className={inputClass} value={bt.sourceId} onChange={(e) => setBt({ ...bt, sourceId: e.target.value })}>
                      {sources.map((s) => (
                        <option key={s.id} value={s.id}>
                          {s.name}
                        </option>
                      ))}
                    </select>
                  </div>
                  <div>
                    <label className={labelClass} htmlFor="bt-from">
                      From
                    </label>
                    <input id="bt-from" className={inputClass} value={bt.from} onChange={(e) => setBt({ ...bt, from: e.target.value })} />
                  </div>
                  <div>
                    <label className={labelClass} htmlFor="bt-to">
                      To
                    </label>
                    <input id="bt-to" className={inputClass} value={bt.to} onChange={(e) => setBt({ ...bt, to: e.target.value })} />
                  </div>
                  <Button type="submit" variant="secondary" disabled={backtest.isPending || !bt.sourceId}>
                    {backtest.isPending ? "Running both versions…" : "Backtest"}
                  </Button>
                  <Button onClick={() => setIsProposing(true)}>Propose activation</Button>
                </form>
              ) : null}
              {result ? (
                <div role="status" className="space-y-1">
                  <p>
                    Over {result.active.lines} lines and {result.active.items} ledger items: active v{result.active.version} matches {result.active.autoMatchedLines} automatically ({result.active.suggestedLines} suggested,{" "}
                    {result.active.unmatchedLines} left); draft v{result.draft.version} matches {result.draft.autoMatchedLines} ({result.draft.suggestedLines} suggested, {result.draft.unmatchedLines} left).
                  </p>
                  <p>
                    The draft would match {result.wouldMatch} more line(s), unmatch {result.wouldUnmatch} and match {result.wouldRematch} differently.
                  </p>
                  {result.differences.length ? (
                    <ul className="max-h-48 overflow-auto font-mono text-xs">
                      {result.differences.map((d) => (
                        <li key={d.lineId}>
                          line {d.lineId}: {d.active ?? "unmatched"} → {d.draft ?? "unmatched"}
                        </li>
                      ))}
                    </ul>
                  ) : null}
                </div>
              ) : null}
            </>
          ) : (
            <p className="text-zinc-600 dark:text-zinc-400">No draft chosen. Save a new draft above, then compare and backtest it here.</p>
          )}
        </div>
      </Card>
      {draft && active ? (
        <ReasonDialog
          isOpen={isProposing}
          onClose={() => setIsProposing(false)}
          title={`Propose activating rules version ${draft.version}`}
          description={<>It changes what is matched without a person, so an approver must approve it. Version {active.version} stays active until then.</>}
          confirmLabel="Propose activation"
          keyScope="recon-rules-activate"
          onConfirm={async ({ reason, idempotencyKey }) => {
            const p = await propose.mutateAsync({ version: draft.version, basedOnActiveVersion: active.version, reason, idempotencyKey });
            toast.success(`Activation proposed (proposal ${p.id.slice(0, 8)})`);
            setIsProposing(false);
            router.refresh();
          }}
        />
      ) : null}
    </div>
  );
}
