"use client";
/**
 * The console's tRPC client: TanStack Query with the v11 options-proxy integration
 * (`const trpc = useTRPC(); useQuery(trpc.audit.list.queryOptions(input))`).
 * One QueryClient per browser session; requests go to /api/trpc as JSON with superjson, so
 * bigint amounts and dates arrive intact. Mutations are POSTs with content-type
 * application/json (httpBatchLink's default), the only kind the API accepts.
 */
import { useState, type ReactNode } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import superjson from "superjson";
import type { AppRouter } from "../server/api/root";

export const { TRPCProvider: TRPCContextProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        // Permission and validation errors do not get better by retrying.
        retry: (count, err) => count < 2 && !/UNAUTHORIZED|FORBIDDEN|BAD_REQUEST|NOT_FOUND/.test(String((err as { data?: { code?: string } }).data?.code ?? "")),
        refetchOnWindowFocus: false,
      },
      // Money-moving actions are never retried blindly from the browser.
      mutations: { retry: false },
    },
  });
}

let browserQueryClient: QueryClient | undefined;

function getQueryClient(): QueryClient {
  // On the server every render gets a fresh client; in the browser one lives for the session.
  if (typeof window === "undefined") return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
  return browserQueryClient;
}

export function TRPCProvider({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: "/api/trpc", transformer: superjson, maxItems: 10 /* = TRPC_MAX_BATCH_SIZE, server/api/http-handler.ts */ })],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCContextProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCContextProvider>
    </QueryClientProvider>
  );
}

/**
 * The server's errors by input field (`data.fieldErrors` of server/api/trpc.ts: zod's issues, or a
 * domain error's `details.field`), keyed by the field's path ("iban", "periodTo"). Empty when the
 * error names no field; show errorMessageOf then.
 */
export function fieldErrorsOf(err: unknown): Record<string, string> {
  const data = err && typeof err === "object" && "data" in err ? (err as { data?: { fieldErrors?: unknown } }).data : undefined;
  const list = Array.isArray(data?.fieldErrors) ? (data.fieldErrors as { path?: unknown; message?: unknown }[]) : [];
  const out: Record<string, string> = {};
  for (const f of list) if (typeof f.path === "string" && typeof f.message === "string" && !(f.path in out)) out[f.path] = f.message;
  return out;
}

/** The server's message for a failed call, for toasts and inline errors. */
export function errorMessageOf(err: unknown): string {
  if (err && typeof err === "object" && "message" in err && typeof err.message === "string" && err.message) return err.message;
  return "The request failed. Try again.";
}
