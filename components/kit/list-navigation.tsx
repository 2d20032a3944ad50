"use client";
/**
 * Moving between views of a server-rendered list (new filters, another sort, the next page) is a
 * client navigation to the view's URL. The list's FilterForm and DataTable share one pending state
 * through this provider, so while the server renders the next view the table says it is loading
 * and the form's button says it is applying. Outside a provider each component keeps its own.
 */
import { createContext, useContext, useMemo, useTransition, type ReactNode } from "react";
import { useRouter } from "next/navigation";

interface ListNavigationApi {
  /** Moving to another view (filters, sort, page) is under way: the shown rows are about to change. */
  isPending: boolean;
  /** The same view is being re-read after a write or a poll: the rows stay meaningful meanwhile. */
  isRefreshing: boolean;
  navigate: (href: string) => void;
  refresh: () => void;
}

const ListNavigationContext = createContext<ListNavigationApi | null>(null);

function useOwnNavigation(): ListNavigationApi {
  const router = useRouter();
  const [isPending, startNavigation] = useTransition();
  const [isRefreshing, startRefresh] = useTransition();
  return useMemo(
    () => ({
      isPending,
      isRefreshing,
      navigate: (href: string) => startNavigation(() => router.push(href)),
      refresh: () => startRefresh(() => router.refresh()),
    }),
    [isPending, isRefreshing, router],
  );
}

export function ListNavigation({ children }: { children: ReactNode }) {
  const api = useOwnNavigation();
  return <ListNavigationContext.Provider value={api}>{children}</ListNavigationContext.Provider>;
}

/** The surrounding list's navigation, or this component's own. */
export function useListNavigation(): ListNavigationApi {
  const own = useOwnNavigation();
  return useContext(ListNavigationContext) ?? own;
}

/**
 * Re-reads the current page from the server after a confirmed write (router.refresh in a
 * transition): the one way client parts show the result of an action. `isRefreshing` is true
 * until the new server render arrived.
 */
export function useServerRefresh(): { isRefreshing: boolean; refresh: () => void } {
  const { isRefreshing, refresh } = useListNavigation();
  return { isRefreshing, refresh };
}
