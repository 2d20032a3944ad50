/**
 * Single-key shortcuts for the approvals pages. A key press counts only when nobody is typing
 * (no input, textarea, select or editable element has focus), no modifier is held and no dialog
 * is open, so "a" in a comment never approves anything.
 */
export function isShortcutEvent(e: KeyboardEvent): boolean {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.repeat) return false;
  const t = e.target as HTMLElement | null;
  if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return false;
  if (typeof document !== "undefined" && document.querySelector("dialog[open]")) return false;
  return true;
}
