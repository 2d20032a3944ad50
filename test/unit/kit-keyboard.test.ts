// Keyboard navigation of kit tables and when a key press counts as a shortcut.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isOverlayOpen, isShortcutEvent, isTypingTarget, tableNavActionForKey, tableNavReducer, type TableNavAction } from "../../components/kit/keyboard";

describe("tableNavReducer", () => {
  const at = (activeIndex: number) => ({ activeIndex });
  it.each<[string, number, TableNavAction, number, number]>([
    ["next moves down", 0, { type: "next" }, 5, 1],
    ["next stops at the last row", 4, { type: "next" }, 5, 4],
    ["prev moves up", 3, { type: "prev" }, 5, 2],
    ["prev stops at the first row", 0, { type: "prev" }, 5, 0],
    ["next from nothing active starts at the top", -1, { type: "next" }, 5, 0],
    ["prev from nothing active starts at the top", -1, { type: "prev" }, 5, 0],
    ["first", 3, { type: "first" }, 5, 0],
    ["last", 1, { type: "last" }, 5, 4],
    ["focus a row", 0, { type: "focus", index: 3 }, 5, 3],
    ["focus past the end is the last row", 0, { type: "focus", index: 9 }, 5, 4],
    ["fewer rows keep the active row inside", 4, { type: "rows", count: 2 }, 5, 1],
    ["rows arriving activate the first", -1, { type: "rows", count: 3 }, 0, 0],
    ["no rows, nothing active", 2, { type: "rows", count: 0 }, 5, -1],
    ["moving in an empty table activates nothing", 0, { type: "next" }, 0, -1],
  ])("%s", (_name, from, action, count, to) => {
    expect(tableNavReducer(at(from), action, count)).toEqual(at(to));
  });

  it("always lands on a row that exists, or on nothing when there is none", () => {
    const action = fc.oneof(
      fc.constantFrom<TableNavAction>({ type: "next" }, { type: "prev" }, { type: "first" }, { type: "last" }),
      fc.integer({ min: -5, max: 50 }).map((index): TableNavAction => ({ type: "focus", index })),
    );
    fc.assert(
      fc.property(fc.integer({ min: -3, max: 60 }), fc.integer({ min: 0, max: 40 }), fc.array(action, { maxLength: 30 }), (start, count, actions) => {
        let s = { activeIndex: start };
        for (const a of actions) {
          s = tableNavReducer(s, a, count);
          if (count === 0) expect(s.activeIndex).toBe(-1);
          else expect(s.activeIndex >= 0 && s.activeIndex < count).toBe(true);
        }
      }),
    );
  });
});

describe("tableNavActionForKey", () => {
  it("j and k work anywhere", () => {
    expect(tableNavActionForKey("j", false)).toEqual({ type: "next" });
    expect(tableNavActionForKey("k", false)).toEqual({ type: "prev" });
  });
  it("arrows, Home and End only on a focused row, so they still scroll the page elsewhere", () => {
    for (const key of ["ArrowDown", "ArrowUp", "Home", "End"]) expect(tableNavActionForKey(key, false)).toBeNull();
    expect(tableNavActionForKey("ArrowDown", true)).toEqual({ type: "next" });
    expect(tableNavActionForKey("ArrowUp", true)).toEqual({ type: "prev" });
    expect(tableNavActionForKey("Home", true)).toEqual({ type: "first" });
    expect(tableNavActionForKey("End", true)).toEqual({ type: "last" });
  });
  it("other keys are not navigation", () => expect(tableNavActionForKey("x", true)).toBeNull());
});

describe("isShortcutEvent", () => {
  const noDialog = { querySelector: () => null };
  const withDialog = { querySelector: () => ({}) as Element };
  const base = { key: "r", ctrlKey: false, metaKey: false, altKey: false, repeat: false, defaultPrevented: false, target: { tagName: "BODY" } as unknown as EventTarget };

  it("a plain key on the page is a shortcut", () => expect(isShortcutEvent(base, noDialog)).toBe(true));
  it.each(["ctrlKey", "metaKey", "altKey", "repeat", "defaultPrevented"] as const)("not with %s", (k) => expect(isShortcutEvent({ ...base, [k]: true }, noDialog)).toBe(false));
  it("not while a dialog or a menu is open", () => expect(isShortcutEvent(base, withDialog)).toBe(false));
  it("looks for open Radix dialogs and menus and native dialogs", () => {
    const asked: string[] = [];
    isOverlayOpen({ querySelector: (q: string) => (asked.push(q), null) });
    expect(asked[0]).toContain('[role="dialog"][data-state="open"]');
    expect(asked[0]).toContain('[role="menu"][data-state="open"]');
    expect(asked[0]).toContain("dialog[open]");
  });
  it.each([
    [{ tagName: "TEXTAREA" }, true],
    [{ tagName: "SELECT" }, true],
    [{ tagName: "INPUT", type: "text" }, true],
    [{ tagName: "INPUT", type: "search" }, true],
    [{ tagName: "INPUT" }, true],
    [{ tagName: "DIV", isContentEditable: true }, true],
    [{ tagName: "INPUT", type: "checkbox" }, false],
    [{ tagName: "BUTTON" }, false],
    [{ tagName: "TR" }, false],
  ])("typing into %o is typing: %s", (target, typing) => {
    expect(isTypingTarget(target as unknown as EventTarget)).toBe(typing);
    expect(isShortcutEvent({ ...base, target: target as unknown as EventTarget }, noDialog)).toBe(!typing);
  });
});
