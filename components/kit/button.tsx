/**
 * Buttons, in the shadcn/ui manner: one set of variants (class-variance-authority) used by every
 * button and by links that look like buttons. Native elements only, so each keeps its role and
 * accessible name. Server and client components alike.
 *
 * - primary: the one main action of a view; secondary: everything else; danger: changes money or
 *   access in a way that is hard to undo; ghost: quiet actions (clear, dismiss, tabs).
 * - sizes: md (default), sm (dense rows), xs (actions inside table rows).
 */
import type { ButtonHTMLAttributes, ComponentProps } from "react";
import Link from "next/link";
import { cva, type VariantProps } from "class-variance-authority";
import { cn } from "./cn";

export const focusRing = "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:focus-visible:outline-sky-400";

export const buttonVariants = cva(
  `inline-flex items-center justify-center gap-1.5 rounded-md text-sm font-medium whitespace-nowrap disabled:cursor-not-allowed disabled:opacity-50 aria-disabled:pointer-events-none aria-disabled:opacity-50 ${focusRing}`,
  {
    variants: {
      variant: {
        primary: "bg-zinc-900 text-white hover:bg-zinc-700 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-white",
        secondary: "border border-zinc-300 bg-white text-zinc-800 hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800",
        danger: "bg-red-700 text-white hover:bg-red-600 dark:bg-red-600 dark:hover:bg-red-500",
        ghost:
          "font-normal text-zinc-700 hover:bg-zinc-100 aria-[current=page]:bg-zinc-200 aria-[current=page]:font-medium dark:text-zinc-300 dark:hover:bg-zinc-800 dark:aria-[current=page]:bg-zinc-700",
      },
      size: {
        md: "px-3 py-1.5",
        sm: "px-2 py-1",
        xs: "px-2 py-0.5 text-xs",
      },
    },
    compoundVariants: [{ variant: "ghost", size: "md", class: "px-2 py-1" }],
    defaultVariants: { variant: "secondary", size: "md" },
  },
);

export type ButtonVariantProps = VariantProps<typeof buttonVariants>;

export function Button({ variant, size, className, type = "button", ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & ButtonVariantProps) {
  return <button type={type} className={cn(buttonVariants({ variant, size }), className)} {...rest} />;
}

/**
 * A link that looks like a button. `href={null}` renders a disabled look-alike (a pager step with
 * nowhere to go), which is not a link and cannot be focused.
 */
export function ButtonLink({
  href,
  variant,
  size,
  className,
  isCurrent,
  children,
  ...rest
}: Omit<ComponentProps<typeof Link>, "href"> & ButtonVariantProps & { href: string | null; isCurrent?: boolean }) {
  const classes = cn(buttonVariants({ variant, size }), className);
  if (href === null) {
    return (
      <span aria-disabled="true" className={classes}>
        {children}
      </span>
    );
  }
  return (
    <Link href={href} aria-current={isCurrent ? "page" : undefined} className={classes} {...rest}>
      {children}
    </Link>
  );
}
