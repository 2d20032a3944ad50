"use client";
/**
 * A menu of actions behind one button, on Radix DropdownMenu: the menu and menuitem roles, arrow
 * keys and typeahead inside it, Escape closes it and focus returns to the button. For the less
 * frequent or more dangerous actions of a row, so the common ones stay one click away and the
 * dangerous ones are never one stray click away. An item only opens what asks for confirmation
 * (usually a ReasonDialog); the menu itself changes nothing.
 */
import type { ReactNode } from "react";
import * as Menu from "@radix-ui/react-dropdown-menu";
import { Button, type ButtonVariantProps } from "./button";
import { cn } from "./cn";

export interface ActionsMenuItem {
  label: string;
  onSelect: () => void;
  isDanger?: boolean;
  /** Shown after the label ("c"), for actions that also have a keyboard shortcut. */
  shortcut?: string;
  isDisabled?: boolean;
}

export function ActionsMenu({
  label,
  items,
  children = "More",
  size = "xs",
  isDisabled = false,
}: {
  /** The button's accessible name ("More actions for INV-88124"). */
  label: string;
  items: readonly ActionsMenuItem[];
  /** The button's visible text. */
  children?: ReactNode;
  size?: ButtonVariantProps["size"];
  isDisabled?: boolean;
}) {
  return (
    <Menu.Root modal={false}>
      <Menu.Trigger asChild disabled={isDisabled || items.length === 0}>
        <Button size={size} variant="ghost" aria-label={label}>
          {children} <span aria-hidden="true">▾</span>
        </Button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="end"
          sideOffset={4}
          className="z-50 min-w-40 rounded-md border border-zinc-200 bg-white p-1 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          {items.map((item) => (
            <Menu.Item
              key={item.label}
              disabled={item.isDisabled}
              onSelect={item.onSelect}
              className={cn(
                "flex cursor-default items-center justify-between gap-4 rounded px-2 py-1.5 outline-none select-none data-[disabled]:opacity-50 data-[highlighted]:bg-zinc-100 dark:data-[highlighted]:bg-zinc-800",
                item.isDanger ? "text-red-700 dark:text-red-400" : "text-zinc-800 dark:text-zinc-100",
              )}
            >
              {item.label}
              {item.shortcut ? <kbd className="font-mono text-xs opacity-60">{item.shortcut}</kbd> : null}
            </Menu.Item>
          ))}
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}
