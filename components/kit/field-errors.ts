/**
 * The per-field messages of a refused call: the API's error formatter sends
 * `data.fieldErrors: [{ path, message }]` for schema failures and for domain errors that name
 * their field (server/api/trpc.ts). A form shows each next to its field. `prefix` strips an
 * input's nesting ("changes." for an update's changes).
 */
export function fieldErrorsOf(err: unknown, prefix = ""): Record<string, string> {
  const data = err && typeof err === "object" && "data" in err ? (err as { data?: { fieldErrors?: unknown } }).data : undefined;
  const list = Array.isArray(data?.fieldErrors) ? (data.fieldErrors as { path?: unknown; message?: unknown }[]) : [];
  const out: Record<string, string> = {};
  for (const f of list) {
    if (typeof f.path !== "string" || typeof f.message !== "string") continue;
    const path = prefix && f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path;
    out[path] ??= f.message;
  }
  return out;
}
