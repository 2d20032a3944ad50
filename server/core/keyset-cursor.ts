/**
 * The keyset cursor every list hands out: the last row's sort value and id, as an opaque URL-safe
 * string (base64url of a small JSON object). A list reads the rows after (or before) that pair.
 *
 * Invariants kept:
 * - A cursor decodes only when it is one this API could have returned: the id is a UUID and the
 *   value has the shape of the list's sort key, so a tampered cursor is BAD_INPUT and never reaches
 *   SQL as a value PostgreSQL would refuse to cast.
 */
import { AppError } from "../errors/app-error";
import { isUuid } from "./validate";

export interface KeysetCursor {
  /** The sort key of the last row, as text (a timestamp, a date or an integer). */
  v: string;
  /** The last row's id: the tie-break after the sort key. */
  id: string;
}

/** What a list sorts by, so the cursor's value can be checked before it is used. */
export type CursorValueKind = "timestamp" | "date" | "integer";

const VALUE_CHECKS: Record<CursorValueKind, (v: string) => boolean> = {
  timestamp: (v) => /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(v) && !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  integer: (v) => /^-?\d{1,39}$/.test(v),
};

export function encodeKeysetCursor(c: KeysetCursor): string {
  return Buffer.from(JSON.stringify({ v: c.v, id: c.id })).toString("base64url");
}

/** The cursor's value and id. Errors: BAD_INPUT when it is not a cursor of a list sorted by `valueKind`. */
export function decodeKeysetCursor(s: string, valueKind: CursorValueKind): KeysetCursor {
  let c: Partial<KeysetCursor> | null = null;
  try {
    c = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Partial<KeysetCursor> | null;
  } catch {
    // Not JSON: refused below.
  }
  if (!c || typeof c.v !== "string" || !VALUE_CHECKS[valueKind](c.v) || !isUuid(c.id)) {
    throw new AppError("BAD_INPUT", "cursor is not one this API returned", { details: { field: "cursor" } });
  }
  return { v: c.v, id: c.id.toLowerCase() };
}
