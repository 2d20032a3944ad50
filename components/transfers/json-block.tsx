/**
 * Raw payloads (partner requests and responses, webhook bodies) behind a native disclosure, so a
 * table stays scannable and the exact bytes are one click away. Strings that hold JSON are
 * pretty-printed; anything else is shown as received.
 */
export function prettyJson(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export function JsonBlock({ summary, value }: { summary: string; value: unknown }) {
  return (
    <details className="group">
      <summary className="cursor-pointer text-xs font-medium text-sky-700 select-none hover:underline dark:text-sky-400">{summary}</summary>
      <pre className="mt-1 max-h-80 max-w-[40rem] overflow-auto rounded border border-zinc-200 bg-zinc-50 p-2 font-mono text-xs whitespace-pre-wrap break-all text-zinc-800 dark:border-zinc-800 dark:bg-zinc-950 dark:text-zinc-200">
        {prettyJson(value)}
      </pre>
    </details>
  );
}
