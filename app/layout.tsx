import type { Metadata } from "next";
import type { ReactNode } from "react";
import { headers } from "next/headers";
import { NONCE_HEADER } from "../server/platform/content-security-policy";
import { THEME_INIT_SCRIPT } from "../components/theme-toggle";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Ledger Ops Console", template: "%s · Ledger Ops Console" },
  description: "Operations console for money movement",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The proxy's per-request nonce: the page's policy runs only scripts that carry it. Reading the
  // request also keeps every page dynamic, which a fresh nonce per response needs.
  const nonce = (await headers()).get(NONCE_HEADER) ?? undefined;
  return (
    // The theme script changes <html>'s class before React hydrates; that difference is expected.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_INIT_SCRIPT }} />
      </head>
      <body className="min-h-screen bg-zinc-50 font-sans text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">{children}</body>
    </html>
  );
}
