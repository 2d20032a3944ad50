/**
 * Idempotency keys for the reconciliation API's own mutations (the four-eyes proposals use the
 * approvals flow's keys). A key belongs to its caller (a person or a service key); the same key
 * with the same request returns the first answer; with another request it is
 * IDEMPOTENCY_CONFLICT; while the first is still being served, the retryable
 * IDEMPOTENCY_IN_PROGRESS.
 *
 * Invariants kept:
 * - A key is claimed before the work starts (INSERT … ON CONFLICT DO NOTHING), so two concurrent
 *   requests with one key never both run.
 * - A failed request releases its claim: the caller may retry with the same key.
 * - The answer is stored after the work committed. If the process dies in between, the claim is
 *   considered abandoned after CLAIM_TIMEOUT_MS and the request runs again; every recon mutation
 *   is safe to repeat (assigning again changes nothing, a second match of the same lines is
 *   refused, an import of the same file is a no-op), so that window cannot apply anything twice
 *   that matters.
 */
import { createHash } from "node:crypto";
import superjson from "superjson";
import type { DbHandles } from "../db/client";
import type { AuditActor } from "../audit/audit-log";
import { canonicalJson } from "../core/canonical-json";
import { AppError } from "../errors/app-error";

export const CLAIM_TIMEOUT_MS = 10 * 60_000;

function actorKeyOf(actor: AuditActor): string {
  return `${actor.type}:${actor.id ?? actor.label}`;
}

/** Runs `work` at most once per (caller, key, request). Errors: BAD_INPUT (key), IDEMPOTENCY_CONFLICT, IDEMPOTENCY_IN_PROGRESS, then whatever `work` throws. */
export async function withReconIdempotency<T>(db: Pick<DbHandles, "pool">, actor: AuditActor, operation: string, idempotencyKey: string, request: unknown, work: () => Promise<T>, opts: { now?: Date } = {}): Promise<T> {
  if (typeof idempotencyKey !== "string" || idempotencyKey.length < 1 || idempotencyKey.length > 200) throw new AppError("BAD_INPUT", "idempotencyKey must be 1 to 200 characters");
  const now = opts.now ?? new Date();
  const actorKey = actorKeyOf(actor);
  const requestHash = createHash("sha256").update(canonicalJson({ operation, request: JSON.parse(superjson.stringify(request)) as unknown })).digest("hex");
  const claimed = await db.pool.query(
    `INSERT INTO recon_idempotency (actor_key, idempotency_key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [actorKey, idempotencyKey, requestHash, now],
  );
  if (!claimed.rowCount) {
    const row = (await db.pool.query<{ request_hash: string; response: string | null; created_at: Date }>(`SELECT request_hash, response, created_at FROM recon_idempotency WHERE actor_key = $1 AND idempotency_key = $2`, [actorKey, idempotencyKey])).rows[0];
    if (!row) return withReconIdempotency(db, actor, operation, idempotencyKey, request, work, opts);
    if (row.request_hash !== requestHash) {
      throw new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${idempotencyKey} was already used for a different request`, { details: { idempotencyKey } });
    }
    if (row.response !== null) return superjson.parse<T>(row.response);
    if (now.getTime() - row.created_at.getTime() < CLAIM_TIMEOUT_MS) {
      throw new AppError("IDEMPOTENCY_IN_PROGRESS", `a request with idempotency key ${idempotencyKey} is still being served; retry with the same key`, { details: { idempotencyKey } });
    }
    // Abandoned by a process that died: take it over (only one caller wins the update).
    const taken = await db.pool.query(`UPDATE recon_idempotency SET created_at = $3 WHERE actor_key = $1 AND idempotency_key = $2 AND response IS NULL AND created_at = $4`, [actorKey, idempotencyKey, now, row.created_at]);
    if (!taken.rowCount) throw new AppError("IDEMPOTENCY_IN_PROGRESS", `a request with idempotency key ${idempotencyKey} is being served; retry with the same key`);
  }
  let result: T;
  try {
    result = await work();
  } catch (e) {
    await db.pool.query(`DELETE FROM recon_idempotency WHERE actor_key = $1 AND idempotency_key = $2 AND response IS NULL`, [actorKey, idempotencyKey]).catch(() => {});
    throw e;
  }
  await db.pool.query(`UPDATE recon_idempotency SET response = $3, completed_at = $4 WHERE actor_key = $1 AND idempotency_key = $2`, [actorKey, idempotencyKey, superjson.stringify(result), new Date()]);
  return result;
}

/** Removes answers older than `olderThan` (bounded). */
export async function pruneReconIdempotency(db: Pick<DbHandles, "pool">, olderThan: Date, limit = 10_000): Promise<number> {
  const r = await db.pool.query(`DELETE FROM recon_idempotency WHERE ctid IN (SELECT ctid FROM recon_idempotency WHERE created_at < $1 AND response IS NOT NULL LIMIT $2)`, [olderThan, limit]);
  return r.rowCount ?? 0;
}
