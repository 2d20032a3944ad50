"use client";
/**
 * A modal dialog on Radix Dialog: focus moves into it and is trapped there, Escape and a click
 * outside close it (unless `isDismissable` is false, e.g. while a request is in flight), focus
 * returns to what opened it, and it has the dialog role with its title as accessible name. Its
 * content is mounted only while open, so a form inside starts fresh at every opening.
 */
import type { ReactNode } from "react";
import * as RadixDialog from "@radix-ui/react-dialog";
import { cn } from "./cn";

export function Dialog({
  isOpen,
  onClose,
  title,
  description,
  isDismissable = true,
  className,
  children,
}: {
  isOpen: boolean;
  onClose: () => void;
  title: string;
  /** A short line under the title, announced with it. */
  description?: ReactNode;
  isDismissable?: boolean;
  className?: string;
  children: ReactNode;
}) {
  const keepOpen = (e: Event) => {
    if (!isDismissable) e.preventDefault();
  };
  return (
    <RadixDialog.Root open={isOpen} onOpenChange={(open) => (open ? undefined : onClose())}>
      <RadixDialog.Portal>
        <RadixDialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <RadixDialog.Content
          onEscapeKeyDown={keepOpen}
          onPointerDownOutside={keepOpen}
          onInteractOutside={keepOpen}
          {...(description ? {} : { "aria-describedby": undefined })}
          className={cn(
            "fixed top-1/2 left-1/2 z-50 max-h-[calc(100vh-2rem)] w-[32rem] max-w-[calc(100vw-2rem)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg border border-zinc-200 bg-white p-5 text-zinc-900 shadow-xl focus:outline-none dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100",
            className,
          )}
        >
          <RadixDialog.Title className="mb-3 text-base font-semibold">{title}</RadixDialog.Title>
          {description ? (
            <RadixDialog.Description asChild>
              <div className="mb-3 space-y-2 text-sm text-zinc-700 dark:text-zinc-300">{description}</div>
            </RadixDialog.Description>
          ) : null}
          {children}
        </RadixDialog.Content>
      </RadixDialog.Portal>
    </RadixDialog.Root>
  );
}
