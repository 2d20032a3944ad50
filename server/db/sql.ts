/**
 * A minimal SQL runner interface so domain code can run the same statements inside a Prisma
 * interactive transaction or on a raw pg client (the ledger's hot path) without caring which.
 */
import type pg from "pg";
import type { Prisma } from "./generated/client";

export interface SqlRunner {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export function pgRunner(client: pg.ClientBase | pg.Pool): SqlRunner {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows as R[];
    },
  };
}

export function prismaRunner(tx: Prisma.TransactionClient): SqlRunner {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      return (await tx.$queryRawUnsafe(sql, ...params)) as R[];
    },
  };
}
