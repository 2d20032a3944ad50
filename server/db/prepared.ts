/**
 * A SqlRunner that runs every statement as a named prepared statement on one pg client, so the
 * hot path's fixed-shape statements are parsed and planned once per connection, not per call.
 * The name is derived from the text, so different texts never share a name.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { SqlRunner } from "./sql";

const names = new Map<string, string>();
const MAX_CACHED_NAMES = 2_000;

export function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `lg_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    // Batches of different sizes share a text; the cap only bounds memory for odd shapes.
    if (names.size < MAX_CACHED_NAMES) names.set(text, name);
  }
  return name;
}

export function preparedQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(client: pg.ClientBase | pg.Pool, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  return client.query<R>({ name: statementName(text), text, values });
}

export function preparedRunner(client: pg.ClientBase): SqlRunner {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const res = await client.query({ name: statementName(sql), text: sql, values: params as unknown[] });
      return res.rows as R[];
    },
  };
}
