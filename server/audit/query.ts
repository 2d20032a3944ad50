/**
 * The audit log's read side: filtered lists and single records.
 *
 * Invariants kept:
 * - Lists are keyset-paginated by id, newest first. A cursor is the last id of the previous page,
 *   so pages never overlap and never skip a row that existed when the first page was read.
 * - Every page is bounded (MAX_AUDIT_PAGE_SIZE); nothing here reads the whole table.
 * - Read only: this module never writes to audit_log (the database would refuse it anyway).
 */
import type { Db } from "../db/client";
import type { Prisma } from "../db/generated/client";
import type { ActorType, AuditRecord } from "./audit-log";
import { AppError } from "../errors/app-error";

export const MAX_AUDIT_PAGE_SIZE = 200;
export const DEFAULT_AUDIT_PAGE_SIZE = 50;

export interface AuditFilters {
  /** Exact actor id (a user id or a service key id). */
  actorId?: string;
  /** Case-insensitive substring of the actor's label (an email, "service:<name>", "system"). */
  actorLabel?: string;
  /** Exact action ("users.set_roles"), or a prefix when it ends with "*" ("users.*"). */
  action?: string;
  targetType?: string;
  targetId?: string;
  /** Inclusive lower bound on created_at. */
  from?: Date;
  /** Exclusive upper bound on created_at. */
  to?: Date;
}

export interface AuditPageRequest {
  /** The id of the last record of the previous page, as a decimal string. */
  cursor?: string;
  limit?: number;
}

export interface AuditPage {
  items: AuditRecord[];
  /** Pass as `cursor` to read the next (older) page; null when this page is the last. */
  nextCursor: string | null;
}

type AuditRow = Prisma.AuditLogGetPayload<object>;

function toRecord(r: AuditRow): AuditRecord {
  return { ...r, id: r.id.toString(), laneSeq: r.laneSeq.toString(), actorType: r.actorType as ActorType, before: r.before ?? null, after: r.after ?? null };
}

/** Parses an audit id (or cursor) given as a decimal string. Throws BAD_INPUT naming the value. */
export function parseAuditId(value: string, what = "id"): bigint {
  if (!/^[1-9]\d{0,18}$/.test(value)) throw new AppError("BAD_INPUT", `${what} "${value}" is not an audit record id`);
  return BigInt(value);
}

function whereOf(f: AuditFilters): Prisma.AuditLogWhereInput {
  const where: Prisma.AuditLogWhereInput = {};
  if (f.actorId) where.actorId = f.actorId;
  if (f.actorLabel) where.actorLabel = { contains: f.actorLabel, mode: "insensitive" };
  if (f.action) where.action = f.action.endsWith("*") ? { startsWith: f.action.slice(0, -1) } : f.action;
  if (f.targetType) where.targetType = f.targetType;
  if (f.targetId) where.targetId = f.targetId;
  if (f.from || f.to) where.createdAt = { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) };
  return where;
}

/**
 * Lists audit records matching every given filter, newest first.
 * Errors, in the order checked: BAD_INPUT (limit out of 1..200, malformed cursor, from after to).
 */
export async function listAudit(db: Db, filters: AuditFilters, page: AuditPageRequest = {}): Promise<AuditPage> {
  const limit = page.limit ?? DEFAULT_AUDIT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE_SIZE) {
    throw new AppError("BAD_INPUT", `limit ${limit} is outside 1..${MAX_AUDIT_PAGE_SIZE}`);
  }
  const cursor = page.cursor ? parseAuditId(page.cursor, "cursor") : null;
  if (filters.from && filters.to && filters.from > filters.to) {
    throw new AppError("BAD_INPUT", `from ${filters.from.toISOString()} is after to ${filters.to.toISOString()}`);
  }
  const where = whereOf(filters);
  if (cursor !== null) where.id = { lt: cursor };
  // One extra row tells whether an older page exists without a second count query.
  const rows = await db.auditLog.findMany({ where, orderBy: { id: "desc" }, take: limit + 1 });
  const hasMore = rows.length > limit;
  const items = rows.slice(0, limit).map(toRecord);
  return { items, nextCursor: hasMore ? (items[items.length - 1]?.id ?? null) : null };
}

/** One audit record by id. Errors: BAD_INPUT (malformed id), NOT_FOUND. */
export async function getAuditRecord(db: Db, id: string): Promise<AuditRecord> {
  const row = await db.auditLog.findUnique({ where: { id: parseAuditId(id) } });
  if (!row) throw new AppError("NOT_FOUND", `audit record ${id} does not exist`);
  return toRecord(row);
}

export interface NewerPage {
  /** Whether records newer than the current page exist. */
  hasNewer: boolean;
  /** The cursor of the newer page; null with hasNewer means the newer page is the first page. */
  newerCursor: string | null;
}

/**
 * Where the "Newer" link of the page read with `cursor` goes: the up to `limit` records just newer
 * than that page. Going back needs nothing in the URL beyond the cursor itself.
 */
export async function findNewerPage(db: Db, filters: AuditFilters, cursor: string | undefined, limit: number): Promise<NewerPage> {
  if (!cursor) return { hasNewer: false, newerCursor: null };
  const at = parseAuditId(cursor, "cursor");
  const where = whereOf(filters);
  // The page shows ids below the cursor, so every matching id at or above it is on a newer page.
  where.id = { gte: at };
  const newer = await db.auditLog.findMany({ where, orderBy: { id: "asc" }, take: limit + 1, select: { id: true } });
  if (newer.length === 0) return { hasNewer: false, newerCursor: null };
  // The newer page holds the `limit` smallest of those ids; its cursor is the next one up.
  const next = newer[limit];
  return { hasNewer: true, newerCursor: next ? next.id.toString() : null };
}

/** A page for the console: the records plus links both ways (Older via nextCursor, Newer). */
export async function readAuditPage(db: Db, filters: AuditFilters, page: AuditPageRequest = {}): Promise<AuditPage & NewerPage> {
  const older = await listAudit(db, filters, page);
  const newer = await findNewerPage(db, filters, page.cursor, page.limit ?? DEFAULT_AUDIT_PAGE_SIZE);
  return { ...older, ...newer };
}
