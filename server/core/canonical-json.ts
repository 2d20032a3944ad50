/**
 * Canonical JSON: object keys sorted at every level and undefined fields left out, so the same
 * value always gives the same text. The audit chain hashes it (and the database's audit_append
 * rebuilds the same text), and request hashes for idempotency are taken over it.
 *
 * Invariants kept:
 * - The text of a value never changes: stored audit hashes and idempotency request hashes depend on
 *   it byte for byte.
 * - `encode` is asked first about every value, at every level; it returns the text for a value it
 *   writes itself (a bigint or a Date, which plain JSON cannot carry exactly) or undefined.
 */
export function canonicalJson(value: unknown, encode: (value: unknown) => string | undefined = () => undefined): string {
  const write = (v: unknown): string => {
    const encoded = encode(v);
    if (encoded !== undefined) return encoded;
    if (v === null || v === undefined) return "null";
    if (Array.isArray(v)) return `[${v.map(write).join(",")}]`;
    if (typeof v === "object") {
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`).join(",")}}`;
    }
    return JSON.stringify(v);
  };
  return write(value);
}
