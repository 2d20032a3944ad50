"use client";
/**
 * Uploading a statement: pick the file (and the source, required for CSV), watch it being read
 * and sent, and see the result: how many statements and lines were imported (or that the file or
 * its statements already were), the gaps and balance breaks it opened, and the run it triggered;
 * or the error with the place in the file it names. Nothing is imported when the server refuses.
 */
import { useState } from "react";
import Link from "next/link";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { Card, inputClass, labelClass, linkClass } from "../ui";
import { Button } from "../kit/button";
import type { RouterOutputs } from "../kit/api-types";

type Outcome = RouterOutputs["recon"]["importStatement"];

/** API_MAX_IMPORT_BYTES (server/recon/import.ts): the largest file the API takes. */
const MAX_BYTES = 3_000_000;

function readAsBase64(file: File, onProgress: (pct: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded * 100) / e.total));
    };
    reader.onerror = () => reject(new Error(`could not read ${file.name}`));
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.readAsDataURL(file);
  });
}

export function ImportForm({ sources }: { sources: { id: string; name: string; isCsv: boolean }[] }) {
  const trpc = useTRPC();
  const importStatement = useMutation(trpc.recon.importStatement.mutationOptions());
  const [file, setFile] = useState<File | null>(null);
  const [sourceId, setSourceId] = useState("");
  const [phase, setPhase] = useState<null | { step: "reading"; pct: number } | { step: "importing" }>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [error, setError] = useState<string | null>(null);
  const tooBig = file !== null && file.size > MAX_BYTES;

  const submit = async () => {
    if (!file) return;
    setOutcome(null);
    setError(null);
    try {
      setPhase({ step: "reading", pct: 0 });
      const contentBase64 = await readAsBase64(file, (pct) => setPhase({ step: "reading", pct }));
      setPhase({ step: "importing" });
      setOutcome(await importStatement.mutateAsync({ sourceId: sourceId || null, fileName: file.name, contentBase64, idempotencyKey: `console:recon-import:${crypto.randomUUID()}` }));
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setPhase(null);
    }
  };

  return (
    <div className="space-y-4">
      <Card title="Statement file">
        <form
          className="grid gap-3 md:grid-cols-3"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <div>
            <label className={labelClass} htmlFor="import-file">
              File (camt.053 XML or CSV, at most 3 MB)
            </label>
            <input id="import-file" type="file" accept=".xml,.csv,.txt,application/xml,text/xml,text/csv" className={inputClass} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </div>
          <div>
            <label className={labelClass} htmlFor="import-source">
              Source
            </label>
            <select id="import-source" className={inputClass} value={sourceId} onChange={(e) => setSourceId(e.target.value)}>
              <option value="">From the statement&apos;s IBAN (camt.053)</option>
              {sources.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                  {s.isCsv ? " (CSV)" : ""}
                </option>
              ))}
            </select>
          </div>
          <div className="flex items-end">
            <Button type="submit" disabled={!file || tooBig || phase !== null}>
              {phase?.step === "reading" ? `Reading… ${phase.pct}%` : phase?.step === "importing" ? "Importing and matching…" : "Import"}
            </Button>
          </div>
          {tooBig ? <p className="text-sm text-red-700 md:col-span-3 dark:text-red-400">The file is larger than 3 MB; import it from disk.</p> : null}
          {phase ? (
            <progress className="md:col-span-3" aria-label="Upload progress" max={100} value={phase.step === "reading" ? phase.pct : undefined} />
          ) : null}
        </form>
      </Card>
      {error ? (
        <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          <p className="font-medium">Nothing was imported.</p>
          <p className="mt-1 font-mono text-xs break-words">{error}</p>
        </div>
      ) : null}
      {outcome ? (
        <Card title="Result">
          <div role="status" className="space-y-2 text-sm">
            <p className="font-medium">
              {outcome.status === "imported"
                ? `Imported ${outcome.lineCount} line${outcome.lineCount === 1 ? "" : "s"} in ${outcome.statements.filter((s) => s.isNew).length} statement(s).`
                : outcome.status === "duplicate_file"
                  ? "This file was already imported: nothing changed."
                  : "Every statement in this file was already imported: nothing changed."}
            </p>
            {outcome.statements.length ? (
              <ul className="list-disc pl-5">
                {outcome.statements.map((s) => (
                  <li key={`${s.statementRef}-${s.sequence}`}>
                    {s.statementRef} (sequence {s.sequence ?? "—"}): {s.isNew ? `${s.lineCount} lines imported` : "already imported, skipped"}
                  </li>
                ))}
              </ul>
            ) : null}
            {outcome.breaks.map((b) => (
              <p key={b.statementRef} className="text-amber-800 dark:text-amber-300">
                {b.type === "statement_gap" ? "Gap" : "Balance break"}: {b.message}
              </p>
            ))}
            {outcome.run ? (
              <p>
                Matching: {outcome.run.summary.autoMatchedLines} of {outcome.run.summary.lines} lines matched automatically, {outcome.run.summary.suggestions} suggested, {outcome.run.summary.breaksOpened} breaks opened.{" "}
                <Link href={outcome.sourceId ? `/breaks?source=${outcome.sourceId}` : "/breaks"} className={linkClass}>
                  Open the breaks
                </Link>
              </p>
            ) : null}
          </div>
        </Card>
      ) : null}
    </div>
  );
}
