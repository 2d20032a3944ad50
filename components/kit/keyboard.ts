/**
 * Single-key shortcuts and the keyboard navigation of tables, as pure functions (the hook and the
 * table call them; tests drive them directly).
 *
 * A key press is a shortcut only when nobody is typing (no text field, select or editable element
 * has focus), no modifier is held, it is not a key repeat and no dialog or menu is open, so "a" typed in
 * a comment never approves anything, "r" in a reason never retries and a letter typed in an open
 * menu picks its item.
 */

/** What isShortcutEvent needs to know about a key event (a KeyboardEvent has all of it). */
export interface ShortcutEventLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  repeat: boolean;
  defaultPrevented: boolean;
  target: EventTarget | null;
}

const NON_TEXT_INPUTS = new Set(["checkbox", "radio", "button", "submit", "reset", "file", "color", "range"]);

/** Keys typed into a text field are text, not shortcuts (a focused checkbox or button is not a text field). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof target !== "object") return false;
  const el = target as { tagName?: string; type?: string; isContentEditable?: boolean };
  if (el.isContentEditable) return true;
  const tag = el.tagName?.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") return !NON_TEXT_INPUTS.has((el.type ?? "text").toLowerCase());
  return false;
}

/**
 * Whether a dialog or a menu is open in `doc` (Radix dialogs and menus, native <dialog>): keys then
 * belong to it (a menu's typeahead, a dialog's fields), never to the page behind it.
 */
export function isOverlayOpen(doc: Pick<Document, "querySelector"> | undefined): boolean {
  return Boolean(doc?.querySelector('[role="dialog"][data-state="open"], [role="alertdialog"][data-state="open"], [role="menu"][data-state="open"], dialog[open]'));
}

export function isShortcutEvent(e: ShortcutEventLike, doc: Pick<Document, "querySelector"> | undefined = typeof document === "undefined" ? undefined : document): boolean {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.repeat) return false;
  if (isTypingTarget(e.target)) return false;
  return !isOverlayOpen(doc);
}

/** Keyboard navigation over the rows of one table: which row is active. -1: none (no rows). */
export interface TableNavState {
  activeIndex: number;
}

export type TableNavAction = { type: "next" } | { type: "prev" } | { type: "first" } | { type: "last" } | { type: "focus"; index: number } | { type: "rows"; count: number };

/**
 * The next active row. Moves stop at either end (no wrap-around: the end of the page is where the
 * pager is); a new row count (the server sent another page, a row left the queue) keeps the
 * active index inside the rows; with no rows nothing is active.
 */
export function tableNavReducer(state: TableNavState, action: TableNavAction, rowCount: number): TableNavState {
  const count = action.type === "rows" ? action.count : rowCount;
  if (count <= 0) return { activeIndex: -1 };
  const last = count - 1;
  const current = Math.min(Math.max(state.activeIndex, -1), last);
  switch (action.type) {
    case "next":
      return { activeIndex: Math.min(current + 1, last) };
    case "prev":
      return { activeIndex: Math.max(current - 1, 0) };
    case "first":
      return { activeIndex: 0 };
    case "last":
      return { activeIndex: last };
    case "focus":
      return { activeIndex: Math.min(Math.max(action.index, 0), last) };
    case "rows":
      return { activeIndex: Math.max(current, 0) };
  }
}

/**
 * The navigation a key means. j/k work anywhere on the page (they are shortcuts); arrows, Home
 * and End only while a row of the table has focus, so they keep scrolling the page elsewhere.
 */
export function tableNavActionForKey(key: string, isRowFocused: boolean): TableNavAction | null {
  switch (key) {
    case "j":
      return { type: "next" };
    case "k":
      return { type: "prev" };
    case "ArrowDown":
      return isRowFocused ? { type: "next" } : null;
    case "ArrowUp":
      return isRowFocused ? { type: "prev" } : null;
    case "Home":
      return isRowFocused ? { type: "first" } : null;
    case "End":
      return isRowFocused ? { type: "last" } : null;
    default:
      return null;
  }
}
