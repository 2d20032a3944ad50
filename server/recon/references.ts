/**
 * Reference normalization, one rule in two languages: lower case, then only ASCII letters and
 * digits ("TR-1 abc/2" -> "tr1abc2"). Statement lines are normalized once when imported
 * (referenceKeys, stored in recon_lines.ref_keys); ledger references in SQL by normRefSql at match
 * time. A unit test checks that both give the same keys.
 */

/** References shorter than this are ignored: too common to identify anything. */
export const MIN_REFERENCE_LENGTH = 4;

export function normalizeReference(v: string | null | undefined): string {
  return v == null ? "" : v.toLowerCase().replace(/[^a-z0-9]+/g, "");
}

/** The SQL expression normalizing the text expression `x` exactly as normalizeReference does. */
export function normRefSql(x: string): string {
  return `regexp_replace(lower(coalesce(${x}, '')), '[^a-z0-9]+', '', 'g')`;
}

/** A line's distinct normalized references (end-to-end id, servicer reference, remittance text). */
export function referenceKeys(values: readonly (string | null | undefined)[]): string[] {
  const keys = new Set<string>();
  for (const v of values) {
    const k = normalizeReference(v);
    if (k.length >= MIN_REFERENCE_LENGTH) keys.add(k);
  }
  return [...keys];
}
