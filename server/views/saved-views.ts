/**
 * Saved views (issue 11, saved filters): a person's named view of a console list, kept beside the
 * list's fixed presets. Today the breaks queue; a list joins by adding its URL definition to
 * SAVED_VIEW_PAGES (the transfers list would add transfers' definition and its read permission).
 *
 * Invariants kept:
 * - What is stored is the list's canonical query: the query read with the list's own URL
 *   definition and written back (server/core/url-state.ts canonicalQuery), without the keyset
 *   cursor. Unknown params and malformed values never reach the table, and a stored view means
 *   exactly what its link shows. The table's checks refuse a "?" prefix or a cursor as well.
 * - A view belongs to one person (a user; a service key has none). Its name is 1 to
 *   SAVED_VIEW_NAME_MAX characters, trimmed, without control characters, and unique per owner and
 *   list ignoring case; a person has at most SAVED_VIEWS_PER_PAGE_MAX views per list. Both are
 *   checked under a per-owner, per-list transaction lock, so concurrent saves cannot pass either.
 * - A person sees their own views and the views others shared; only the owner renames, shares,
 *   unshares or deletes a view. Another person's unshared view does not exist for them (NOT_FOUND,
 *   never FORBIDDEN, so its existence is not disclosed).
 * - Every change is audited in the same transaction (saved_view.save / rename / share / delete).
 * - A refused call writes nothing.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit } from "../audit/audit-log";
import { auditActorOf, type Actor } from "../core/actor";
import { fromRow, type RowOf } from "../core/rows";
import { badTextReason } from "../core/text";
import { canonicalQuery } from "../core/url-state";
import { AppError } from "../errors/app-error";
import { breakListState } from "../recon/break-list-view";

/** The lists a view can be saved of, each with how its query is made canonical. */
export const SAVED_VIEW_PAGES = {
  breaks: { canonicalize: (query: string) => canonicalQuery(breakListState, query, ["cursor"]) },
} as const satisfies Record<string, { canonicalize: (query: string) => string }>;

export type SavedViewPage = keyof typeof SAVED_VIEW_PAGES;
export const SAVED_VIEW_PAGE_KEYS = Object.keys(SAVED_VIEW_PAGES) as [SavedViewPage, ...SavedViewPage[]];

export const SAVED_VIEW_NAME_MAX = 60;
export const SAVED_VIEWS_PER_PAGE_MAX = 50;
/** The longest query accepted (before it is made canonical) and stored. */
export const SAVED_VIEW_QUERY_MAX = 2000;
/** At most this many views shared by others are listed (newest changed first, then shown by name). */
export const SHARED_VIEWS_LIST_MAX = 200;

export interface SavedView {
  id: string;
  page: SavedViewPage;
  name: string;
  /** The list's canonical search string, without "?" ("" for the list's default view). */
  query: string;
  isShared: boolean;
  ownerId: string;
  /** The owner's display name, for views shared by others. */
  ownerName: string;
  /** Whether the caller owns it (and so may rename, share or delete it). */
  isOwn: boolean;
  createdAt: Date;
  updatedAt: Date;
}

type SavedViewRow = RowOf<Omit<SavedView, "isOwn">>;

const VIEW_SELECT = `SELECT v.id, v.page, v.name, v.query, v.is_shared, v.owner_id, u.name AS owner_name, v.created_at, v.updated_at
  FROM saved_views v JOIN users u ON u.id = v.owner_id`;

function toView(r: SavedViewRow, callerId: string | null): SavedView {
  const v = fromRow<Omit<SavedView, "isOwn">>(r);
  return { ...v, isOwn: v.ownerId === callerId };
}

/** The view as the audit record keeps it. */
function audited(v: SavedView) {
  return { page: v.page, name: v.name, query: v.query, isShared: v.isShared, ownerId: v.ownerId };
}

/** The person acting. Errors: FORBIDDEN for a service key (saved views belong to people). */
function ownerOf(actor: Actor): string {
  if (actor.kind !== "user") throw new AppError("FORBIDDEN", `saved views belong to people; service key ${actor.name} has none`);
  return actor.userId;
}

function pageOf(page: string): SavedViewPage {
  if (!Object.hasOwn(SAVED_VIEW_PAGES, page)) {
    throw new AppError("BAD_INPUT", `page ${JSON.stringify(page)} has no saved views; known: ${SAVED_VIEW_PAGE_KEYS.join(", ")}`, { details: { field: "page" } });
  }
  return page as SavedViewPage;
}

/**
 * A view's name as stored: trimmed. Errors: BAD_INPUT naming `name` when it is empty, longer than
 * SAVED_VIEW_NAME_MAX characters, or holds a control character or a line or paragraph separator
 * (U+2028, U+2029; a tab or line break included: a name is one line) or an unpaired surrogate.
 */
export function normalizeViewName(raw: string): string {
  const name = raw.trim();
  const fail = (why: string) => new AppError("BAD_INPUT", `name ${why}`, { details: { field: "name" } });
  if (name.length === 0) throw fail("is empty; give the view a name");
  if ([...name].length > SAVED_VIEW_NAME_MAX) throw fail(`has ${[...name].length} characters; at most ${SAVED_VIEW_NAME_MAX}`);
  const bad = badTextReason(name);
  if (bad) throw fail(bad);
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  const control = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/.exec(name);
  if (control) throw fail(`contains the control character U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`);
  return name;
}

/** Serialises saves and renames of one person's views of one list (the cap and the name rule). */
async function lockOwnerPage(c: pg.ClientBase, ownerId: string, page: SavedViewPage): Promise<void> {
  await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('saved_views:' || $1 || ':' || $2, 0))`, [ownerId, page]);
}

/** Errors: CONFLICT naming `name` when another of the owner's views of the list has it (ignoring case). */
async function assertNameFree(c: pg.ClientBase, ownerId: string, page: SavedViewPage, name: string, exceptId: string | null): Promise<void> {
  const clash = (
    await c.query<{ name: string }>(`SELECT name FROM saved_views WHERE owner_id = $1 AND page = $2 AND lower(name) = lower($3) AND id IS DISTINCT FROM $4::uuid LIMIT 1`, [
      ownerId,
      page,
      name,
      exceptId,
    ])
  ).rows[0];
  if (clash) throw new AppError("CONFLICT", `name ${JSON.stringify(name)} is taken: you already have a view of ${page} called ${JSON.stringify(clash.name)}`, { details: { field: "name", existingName: clash.name } });
}

async function readView(c: pg.ClientBase | pg.Pool, id: string, callerId: string | null): Promise<SavedView | null> {
  const row = (await pgRunner(c).query<SavedViewRow>(`${VIEW_SELECT} WHERE v.id = $1::uuid`, [id]))[0];
  return row ? toView(row, callerId) : null;
}

/**
 * The caller's own views of `page` (by name) and then those others shared (by name), at most
 * SAVED_VIEWS_PER_PAGE_MAX + SHARED_VIEWS_LIST_MAX. A service key sees the shared ones only.
 * Errors: BAD_INPUT naming `page` (a list without saved views).
 */
export async function listSavedViews(db: Pick<DbHandles, "pool">, actor: Actor, input: { page: string }): Promise<SavedView[]> {
  const page = pageOf(input.page);
  const callerId = actor.kind === "user" ? actor.userId : null;
  const rows = await pgRunner(db.pool).query<SavedViewRow>(
    `(${VIEW_SELECT} WHERE v.page = $1 AND v.owner_id = $2::uuid ORDER BY lower(v.name) LIMIT $3)
     UNION ALL
     (SELECT * FROM (${VIEW_SELECT} WHERE v.page = $1 AND v.is_shared AND u.is_active AND v.owner_id IS DISTINCT FROM $2::uuid ORDER BY v.updated_at DESC LIMIT $4) shared)`,
    [page, callerId, SAVED_VIEWS_PER_PAGE_MAX, SHARED_VIEWS_LIST_MAX],
  );
  const views = rows.map((r) => toView(r, callerId));
  const own = views.filter((v) => v.isOwn);
  const shared = views.filter((v) => !v.isOwn).sort((a, b) => a.name.localeCompare(b.name) || a.ownerName.localeCompare(b.ownerName));
  return [...own, ...shared];
}

export interface SaveViewInput {
  page: string;
  name: string;
  /** The list's search string as the page has it ("?" optional); it is stored in canonical form. */
  query: string;
  isShared?: boolean;
}

/**
 * Saves the list's view under a name of the caller's choice, audited. Errors, in order:
 * FORBIDDEN (a service key); BAD_INPUT naming `page` (a list without saved views); BAD_INPUT
 * naming `name` (normalizeViewName); BAD_INPUT naming `query` (longer than SAVED_VIEW_QUERY_MAX);
 * CONFLICT naming `name` (the caller has a view of the list by that name, ignoring case);
 * LIMIT_REACHED (the caller has SAVED_VIEWS_PER_PAGE_MAX views of the list).
 */
export async function saveView(db: Pick<DbHandles, "pool">, actor: Actor, input: SaveViewInput, opts: ChangeOptions = {}): Promise<SavedView> {
  const ownerId = ownerOf(actor);
  const page = pageOf(input.page);
  const name = normalizeViewName(input.name);
  if (input.query.length > SAVED_VIEW_QUERY_MAX) {
    throw new AppError("BAD_INPUT", `query has ${input.query.length} characters; at most ${SAVED_VIEW_QUERY_MAX}`, { details: { field: "query" } });
  }
  const query = SAVED_VIEW_PAGES[page].canonicalize(input.query);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    await lockOwnerPage(c, ownerId, page);
    await assertNameFree(c, ownerId, page, name, null);
    const count = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM saved_views WHERE owner_id = $1 AND page = $2`, [ownerId, page])).rows[0]!.n);
    if (count >= SAVED_VIEWS_PER_PAGE_MAX) {
      throw new AppError("LIMIT_REACHED", `you have ${count} saved views of ${page}, the most one person may keep; delete one you no longer use`, { details: { limit: SAVED_VIEWS_PER_PAGE_MAX, page } });
    }
    const id = (
      await c.query<{ id: string }>(`INSERT INTO saved_views (owner_id, page, name, query, is_shared, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, [
        ownerId,
        page,
        name,
        query,
        input.isShared ?? false,
        now,
      ])
    ).rows[0]!.id;
    const view = (await readView(c, id, ownerId))!;
    await appendAudit(pgRunner(c), { actor: auditActorOf(actor), action: "saved_view.save", targetType: "saved_view", targetId: id, after: audited(view), requestId: opts.requestId ?? null, at: now });
    return view;
  });
}

/**
 * Locks and returns a view the caller owns. Errors, in order: NOT_FOUND (no such view, or another
 * person's that is not shared); FORBIDDEN (another person's shared view: only its owner changes it).
 */
async function lockOwnView(c: pg.ClientBase, ownerId: string, viewId: string): Promise<SavedView> {
  const found = (await c.query<{ owner_id: string; is_shared: boolean }>(`SELECT owner_id, is_shared FROM saved_views WHERE id = $1::uuid FOR UPDATE`, [viewId])).rows[0];
  if (!found || (found.owner_id !== ownerId && !found.is_shared)) throw new AppError("NOT_FOUND", `saved view ${viewId} does not exist`, { details: { viewId } });
  if (found.owner_id !== ownerId) throw new AppError("FORBIDDEN", `saved view ${viewId} is shared with you; only its owner can change it`, { details: { viewId } });
  return (await readView(c, viewId, ownerId))!;
}

interface ChangeOptions {
  requestId?: string | null;
  now?: Date;
}

/** Audits a change of a view in the transaction that made it. */
async function auditChange(c: pg.ClientBase, actor: Actor, action: string, before: SavedView, after: SavedView | null, opts: ChangeOptions, now: Date): Promise<void> {
  await appendAudit(pgRunner(c), {
    actor: auditActorOf(actor),
    action,
    targetType: "saved_view",
    targetId: before.id,
    before: audited(before),
    ...(after ? { after: audited(after) } : {}),
    requestId: opts.requestId ?? null,
    at: now,
  });
}

/**
 * Renames one of the caller's views, audited with before and after. Errors, in order: FORBIDDEN
 * (a service key); BAD_INPUT naming `name`; NOT_FOUND and FORBIDDEN as lockOwnView; CONFLICT
 * naming `name` (another of the caller's views of the list has it, ignoring case).
 */
export async function renameSavedView(db: Pick<DbHandles, "pool">, actor: Actor, input: { viewId: string; name: string }, opts: ChangeOptions = {}): Promise<SavedView> {
  const ownerId = ownerOf(actor);
  const name = normalizeViewName(input.name);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const peek = (await c.query<{ page: string }>(`SELECT page FROM saved_views WHERE id = $1::uuid AND owner_id = $2`, [input.viewId, ownerId])).rows[0];
    // The page lock comes before the row lock, as in saveView, so the two never wait on each other in turn.
    if (peek) await lockOwnerPage(c, ownerId, peek.page as SavedViewPage);
    const before = await lockOwnView(c, ownerId, input.viewId);
    if (before.name === name) return before;
    await assertNameFree(c, ownerId, before.page, name, before.id);
    await c.query(`UPDATE saved_views SET name = $2, updated_at = $3 WHERE id = $1`, [before.id, name, now]);
    const after = (await readView(c, before.id, ownerId))!;
    await auditChange(c, actor, "saved_view.rename", before, after, opts, now);
    return after;
  });
}

/**
 * Shares one of the caller's views with everyone who can read its list, or stops sharing it;
 * audited. Errors, in order: FORBIDDEN (a service key); NOT_FOUND and FORBIDDEN as lockOwnView.
 */
export async function setSavedViewShared(db: Pick<DbHandles, "pool">, actor: Actor, input: { viewId: string; isShared: boolean }, opts: ChangeOptions = {}): Promise<SavedView> {
  const ownerId = ownerOf(actor);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const before = await lockOwnView(c, ownerId, input.viewId);
    if (before.isShared === input.isShared) return before;
    await c.query(`UPDATE saved_views SET is_shared = $2, updated_at = $3 WHERE id = $1`, [before.id, input.isShared, now]);
    const after = (await readView(c, before.id, ownerId))!;
    await auditChange(c, actor, "saved_view.share", before, after, opts, now);
    return after;
  });
}

/**
 * Deletes one of the caller's views, audited with what it was. Errors, in order: FORBIDDEN (a
 * service key); NOT_FOUND and FORBIDDEN as lockOwnView.
 */
export async function deleteSavedView(db: Pick<DbHandles, "pool">, actor: Actor, input: { viewId: string }, opts: ChangeOptions = {}): Promise<{ id: string }> {
  const ownerId = ownerOf(actor);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const before = await lockOwnView(c, ownerId, input.viewId);
    await c.query(`DELETE FROM saved_views WHERE id = $1`, [before.id]);
    await auditChange(c, actor, "saved_view.delete", before, null, opts, now);
    return { id: before.id };
  });
}
