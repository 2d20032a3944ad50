/**
 * Positional parameters for SQL text built piece by piece (a list's optional filters, a keyset
 * condition, a multi-row VALUES list): `add(v)` appends a value and returns its placeholder
 * (`$n`), and `values` goes to the query beside the text. The one way server/ builds such text.
 *
 * Invariants kept:
 * - A placeholder and its value are made in one call, so text and values never drift apart.
 * - The initial values keep `$1`, `$2`, … in their order: text written by hand may refer to them
 *   (`stuckSql("$1")` for the clock).
 */
export interface SqlParams {
  /** The values for the query, in placeholder order. */
  readonly values: unknown[];
  /** Appends a value; returns its placeholder (`$3`). */
  readonly add: (value: unknown) => string;
}

export function sqlParams(initial: readonly unknown[] = []): SqlParams {
  const values = [...initial];
  return {
    values,
    add: (value) => {
      values.push(value);
      return `$${values.length}`;
    },
  };
}
