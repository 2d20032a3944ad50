/**
 * Rows as PostgreSQL returns them and the objects the domains hand out, by one naming rule: a
 * column is its field's name in snake_case (`ledger_account_id` is `ledgerAccountId`). A domain
 * declares its object type once; the row type is derived from it (RowOf) and the mapping is
 * generic (fromRow), so no module keeps a second, hand-written copy of its fields.
 *
 * Invariants kept:
 * - fromRow only renames: values pass through as the driver returned them. A field whose stored
 *   form differs (a bigint read as text, a char(3) to trim) is converted by the caller, after the
 *   spread, and its row type says so (`RowOf<Omit<T, "amountMinor">> & { amount_minor: string }`).
 * - RowOf<T> and fromRow agree on every name: camelCase letters become `_` + lower case, digits
 *   stay where they are (`latencyMsP99` is `latency_ms_p99`).
 */

/** `ledgerAccountId` → `ledger_account_id`. */
export type SnakeCase<S extends string> = S extends `${infer C}${infer Rest}`
  ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${SnakeCase<Rest>}`
  : S;

/** The row a query returns for an object of type T: the same values under their column names. */
export type RowOf<T> = { [K in keyof T & string as SnakeCase<K>]: T[K] };

const fieldNames = new Map<string, string>();

/** `ledger_account_id` → `ledgerAccountId` (cached: the set of column names is small and fixed). */
function fieldOf(column: string): string {
  let field = fieldNames.get(column);
  if (field === undefined) {
    field = column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    fieldNames.set(column, field);
  }
  return field;
}

/** The object for a row: every column renamed to its field, values as they are. */
export function fromRow<T>(row: RowOf<T>): T {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) out[fieldOf(column)] = value;
  return out as T;
}
