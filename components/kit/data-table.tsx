"use client";
/**
 * The console's one data table, on TanStack Table (headless) with our markup. Every table in the
 * console is one of these: the server-rendered lists and queues and the small tables of detail
 * pages alike. What a table does is opt-in:
 *
 * - `sorting`: server-side sort. Sortable columns (those with an `accessorFn` and
 *   `enableSorting`) get a header button; choosing a sort navigates to `sorting.hrefFor(next)`,
 *   the list's URL with that sort (the URL is the state; the server sorts).
 * - `pagination`: keyset pages as links (prev/next hrefs computed from the server's cursors).
 * - `selection`: a checkbox per row and "select all on this page"; `selection.actions` renders
 *   the bulk actions for the selected rows in a toolbar above the table.
 * - `keyboard`: j/k (or arrows on a focused row) move, Enter opens `rowHref`, x selects, ? shows
 *   the shortcuts; `keyboard.shortcuts` adds the page's own keys, which act on the current row
 *   or the selection. Only one table per page should take the keyboard.
 * - `csv`: "Export CSV" reads every page of the filtered list (up to `maxRows`) through the same
 *   query and downloads it; amounts are exact (see csv.ts).
 * - `empty`: what to show instead of an empty table (why it is empty and what to do);
 *   `isLoading`: skeleton rows while the first rows load, a busy table while the next view loads.
 *
 * Columns are typed from the router's output: `ColumnDef<RouterOutputs["audit"]["list"]["items"][number]>`.
 * Define them at module level (or memoised): a cell function is rendered as a component, so a new
 * function per render would remount the cell (and lose an input's focus).
 */
import { useCallback, useId, useMemo, useRef, useState, type ReactNode } from "react";
import { useRouter } from "next/navigation";
import {
  rowSelectionFeature,
  rowSortingFeature,
  tableFeatures,
  useTable,
  type ColumnDef as TanStackColumnDef,
  type RowSelectionState,
  type SortingState,
  type Updater,
  type RowData,
} from "@tanstack/react-table";
import { errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Button, ButtonLink } from "./button";
import { cn } from "./cn";
import { collectRows, toCsv, type CsvColumn, type CsvPage } from "./csv";
import { Dialog } from "./dialog";
import { tableNavActionForKey, tableNavReducer, type TableNavAction } from "./keyboard";
import { useListNavigation } from "./list-navigation";
import { useKeyboardShortcuts, type ShortcutHandler } from "./use-keyboard-shortcuts";
import type { SortState } from "./url-state";

/** Per-column presentation, read by the table's markup. */
export interface DataColumnMeta {
  /** Right-aligned, tabular figures (amounts, counts). */
  align?: "right";
  /** Classes for the column's cells. */
  className?: string;
  /** Classes for the column's header. */
  headerClassName?: string;
  /** The cell names its row (`<th scope="row">`). */
  isRowHeader?: boolean;
  /** The header is for screen readers only (an actions column). */
  isHeaderHidden?: boolean;
}

export const dataTableFeatures = tableFeatures({ rowSortingFeature, rowSelectionFeature, columnMeta: {} as DataColumnMeta, tableMeta: {} as object });
export type DataTableFeatures = typeof dataTableFeatures;

/** A column of a DataTable over rows of type T. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a column's value type is its own; the table holds columns of many.
export type ColumnDef<T extends RowData> = TanStackColumnDef<DataTableFeatures, T, any>;

export const tableStyles = {
  wrap: "overflow-x-auto rounded-lg border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900",
  table: "min-w-full divide-y divide-zinc-200 text-sm dark:divide-zinc-800",
  th: "whitespace-nowrap px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400",
  td: "px-3 py-2 align-top text-zinc-800 dark:text-zinc-200",
  tr: "hover:bg-zinc-50 dark:hover:bg-zinc-800/50",
} as const;

/** A page-specific key of a keyboard table, acting on the current row or the selection. */
export interface TableShortcut<T extends RowData> {
  key: string;
  /** In the hint line ("retry"). */
  hint: string;
  /** In the help dialog ("Retry the selection, or the current transfer when nothing is selected"). */
  description: string;
  run: (ctx: { row: T | undefined; selected: T[]; clearSelection: () => void }) => void;
}

export interface PageLink {
  label: string;
  /** null: no page that way (shown disabled). */
  href: string | null;
  rel?: "prev" | "next";
}

export interface DataTableProps<T extends RowData> {
  columns: readonly ColumnDef<T>[];
  rows: readonly T[];
  /** A stable id per row (React keys, selection); the index only for rows that have no id of their own. */
  getRowId: (row: T, index: number) => string;
  /** The table's accessible name (a caption, for screen readers unless `isCaptionVisible`). */
  caption: ReactNode;
  isCaptionVisible?: boolean;
  /** Shown instead of the table when there are no rows (and nothing is loading). */
  empty?: ReactNode;
  isLoading?: boolean;
  /** What is loading, for screen readers ("Loading users…"). */
  loadingLabel?: string;
  sorting?: { current: SortState | null; hrefFor: (next: SortState) => string };
  pagination?: { label: string; summary?: ReactNode; links: readonly PageLink[] };
  selection?: {
    /** "Select Transfer abc" */
    rowLabel: (row: T) => string;
    /** "Select all transfers on this page" */
    allLabel: string;
    /** The bulk actions for the selected rows; `clear` empties the selection. */
    actions: (selected: T[], clear: () => void) => ReactNode;
  };
  keyboard?: {
    /** "transfer": used in the help text. */
    noun: string;
    /**
     * A queue works row by row: its first row is marked current from the start, so its keys
     * always say which row they act on. A list marks a row only once someone navigates.
     */
    isQueue?: boolean;
    rowHref?: (row: T) => string;
    shortcuts?: readonly TableShortcut<T>[];
  };
  csv?: {
    fileName: string;
    columns: readonly CsvColumn<T>[];
    /** One page of the filtered list, from `cursor` (null: the first). */
    fetchPage: (cursor: string | null) => Promise<CsvPage<T>>;
    maxRows?: number;
  };
  /** More controls on the right of the toolbar above the table. */
  toolbar?: ReactNode;
  rowClassName?: (row: T) => string | undefined;
  /** Marks a row as waiting for the server (aria-busy). */
  isRowBusy?: (row: T) => boolean;
  /** Handed to cells as `table.options.meta` (editor callbacks). */
  meta?: object;
  /** Extra classes around the table (a margin). */
  className?: string;
}

export const CSV_MAX_ROWS = 10_000;

export function DataTable<T extends RowData>(props: DataTableProps<T>) {
  const { columns, rows, getRowId, caption, isCaptionVisible = false, empty, sorting, pagination, selection, keyboard, csv, toolbar, meta, className } = props;
  const router = useRouter();
  const nav = useListNavigation();
  const isBusy = Boolean(props.isLoading) || nav.isPending;
  const hintId = useId();
  const [rowSelection, setRowSelection] = useState<RowSelectionState>({});
  const [navState, setNavState] = useState({ activeIndex: rows.length > 0 ? 0 : -1 });
  // The current row is marked once someone navigates the table (keys, focus, a click); until then
  // the first row only holds the tab stop, so a list does not open with a highlighted row.
  const [hasNavigated, setHasNavigated] = useState(Boolean(keyboard?.isQueue));
  const [isHelpOpen, setIsHelpOpen] = useState(false);
  const rowRefs = useRef<(HTMLTableRowElement | null)[]>([]);

  // The selection column is rebuilt only when its labels change: a new column per render would
  // remount its checkboxes (and drop their focus) at every selection change.
  const rowLabel = selection?.rowLabel;
  const allLabel = selection?.allLabel;
  const allColumns = useMemo<ColumnDef<T>[]>(() => (rowLabel && allLabel ? [selectColumn(rowLabel, allLabel), ...columns] : [...columns]), [rowLabel, allLabel, columns]);
  const sortingState = useMemo<SortingState>(() => (sorting?.current ? [{ id: sorting.current.id, desc: sorting.current.desc }] : []), [sorting]);

  const onSortingChange = useCallback(
    (updater: Updater<SortingState>) => {
      if (!sorting) return;
      const next = typeof updater === "function" ? updater(sortingState) : updater;
      const first = next[0];
      if (first) nav.navigate(sorting.hrefFor({ id: first.id, desc: first.desc }));
    },
    [sorting, sortingState, nav],
  );

  const table = useTable({
    features: dataTableFeatures,
    columns: allColumns,
    data: rows,
    getRowId: (row, index) => getRowId(row, index),
    state: { sorting: sortingState, rowSelection },
    onSortingChange,
    onRowSelectionChange: setRowSelection,
    manualSorting: true,
    enableSorting: Boolean(sorting),
    enableSortingRemoval: false,
    enableMultiSort: false,
    enableRowSelection: Boolean(selection),
    meta,
  });

  const tableRows = table.getRowModel().rows;
  // The active row stays inside the rows the server sent (derived, so a refresh never points past the end).
  const activeIndex = tableNavReducer(navState, { type: "rows", count: tableRows.length }, tableRows.length).activeIndex;
  const activeRow = activeIndex >= 0 ? tableRows[activeIndex]?.original : undefined;
  // Only rows still on the page count as selected.
  const selected = selection ? tableRows.filter((r) => r.getIsSelected()).map((r) => r.original) : [];
  const clearSelection = useCallback(() => setRowSelection({}), []);

  const moveTo = useCallback(
    (action: TableNavAction) => {
      // The first key only marks the row that holds the tab stop; later keys move.
      const next = hasNavigated ? tableNavReducer({ activeIndex }, action, tableRows.length) : tableNavReducer({ activeIndex }, { type: "rows", count: tableRows.length }, tableRows.length);
      setNavState(next);
      setHasNavigated(true);
      rowRefs.current[next.activeIndex]?.focus();
    },
    [activeIndex, hasNavigated, tableRows.length],
  );

  const isOwnRow = (target: EventTarget | null) => target !== null && rowRefs.current.includes(target as HTMLTableRowElement);
  const navKey: ShortcutHandler = (e) => {
    const action = tableNavActionForKey(e.key, isOwnRow(e.target));
    if (!action) return false;
    moveTo(action);
  };
  const bindings: Record<string, ShortcutHandler> = {};
  // The page's own keys work even on an empty page (they may not need a row: "n" for new).
  for (const s of keyboard?.shortcuts ?? []) bindings[s.key] = () => s.run({ row: hasNavigated ? activeRow : undefined, selected, clearSelection });
  if (keyboard && tableRows.length > 0) {
    for (const key of ["j", "k", "ArrowDown", "ArrowUp", "Home", "End"]) bindings[key] = navKey;
    bindings["?"] = () => setIsHelpOpen(true);
    bindings.Enter = (e) => {
      const href = activeRow && keyboard.rowHref ? keyboard.rowHref(activeRow) : null;
      if (!href || !(e.target === document.body || isOwnRow(e.target))) return false;
      router.push(href);
    };
    if (selection) {
      bindings.x = () => {
        if (!hasNavigated) return moveTo({ type: "first" });
        tableRows[activeIndex]?.toggleSelected();
      };
    }
  }
  useKeyboardShortcuts(bindings, { isEnabled: Boolean(keyboard) });

  const isEmpty = tableRows.length === 0;
  const isNavigating = nav.isPending || nav.isRefreshing;
  const hasTools = Boolean(csv || toolbar || isNavigating);
  const tableTools = (
    <>
      {isNavigating ? (
        <span role="status" className="text-xs text-zinc-600 dark:text-zinc-400">
          {nav.isPending ? "Loading from the server…" : "Refreshing from the server…"}
        </span>
      ) : null}
      {toolbar}
      {csv ? <CsvExportButton csv={csv} /> : null}
    </>
  );

  if (isEmpty && !props.isLoading) {
    return <>{empty ?? null}</>;
  }

  return (
    <div className={className}>
      {selection ? (
        <>
          {keyboard ? <KeyboardHint id={hintId} keyboard={keyboard} canSelect className="mb-2" /> : null}
          <div role="toolbar" aria-label="Bulk actions" className="mb-2 flex flex-wrap items-center gap-2 rounded-md border border-zinc-200 bg-white px-3 py-2 text-sm dark:border-zinc-800 dark:bg-zinc-900">
            <span aria-live="polite">{selected.length === 0 ? "Nothing selected" : `${selected.length} selected`}</span>
            {selection.actions(selected, clearSelection)}
            {selected.length > 0 ? (
              <Button variant="ghost" onClick={clearSelection}>
                Clear selection
              </Button>
            ) : null}
            <span className="ml-auto flex flex-wrap items-center gap-2">{tableTools}</span>
          </div>
        </>
      ) : keyboard || hasTools ? (
        // Without a selection there is no panel: the keys on the left, the table's tools on the right.
        <div className="mb-2 flex flex-wrap items-end justify-between gap-2">
          {keyboard ? <KeyboardHint id={hintId} keyboard={keyboard} canSelect={false} /> : <span />}
          {hasTools ? (
            <div role="toolbar" aria-label="Table actions" className="flex flex-wrap items-center gap-2 text-sm">
              {tableTools}
            </div>
          ) : null}
        </div>
      ) : null}

      <div className={cn(tableStyles.wrap, isBusy && !isEmpty ? "opacity-60 transition-opacity" : "")} aria-busy={isBusy || undefined}>
        <table className={tableStyles.table} aria-describedby={keyboard ? hintId : undefined}>
          <caption className={isCaptionVisible ? "px-3 pt-2 text-left text-xs text-zinc-600 dark:text-zinc-400" : "sr-only"}>{caption}</caption>
          <thead className="bg-zinc-50 dark:bg-zinc-900">
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const m = header.column.columnDef.meta;
                  const canSort = header.column.getCanSort();
                  const sorted = header.column.getIsSorted();
                  const content = header.isPlaceholder ? null : <table.FlexRender header={header} />;
                  return (
                    <th
                      key={header.id}
                      scope="col"
                      aria-sort={canSort ? (sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none") : undefined}
                      className={cn(tableStyles.th, m?.align === "right" && "text-right", m?.headerClassName)}
                    >
                      {canSort ? (
                        <button
                          type="button"
                          onClick={header.column.getToggleSortingHandler()}
                          className="inline-flex items-center gap-1 rounded-sm uppercase hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:text-zinc-100"
                          title={sorted ? `Sorted ${sorted === "desc" ? "descending" : "ascending"}; change the order` : "Sort by this column"}
                        >
                          {content}
                          <span aria-hidden="true" className="text-[10px]">
                            {sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : "↕"}
                          </span>
                        </button>
                      ) : m?.isHeaderHidden ? (
                        <span className="sr-only">{content}</span>
                      ) : (
                        content
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
            {isEmpty ? (
              <SkeletonRows columnCount={allColumns.length} label={props.loadingLabel ?? "Loading…"} />
            ) : (
              tableRows.map((row, i) => {
                const isTabStop = Boolean(keyboard) && i === activeIndex;
                const isActive = isTabStop && hasNavigated;
                return (
                  <tr
                    key={row.id}
                    ref={(el) => {
                      rowRefs.current[i] = el;
                    }}
                    tabIndex={keyboard ? (isTabStop ? 0 : -1) : undefined}
                    aria-current={isActive ? "true" : undefined}
                    aria-busy={props.isRowBusy?.(row.original) ? true : undefined}
                    onFocus={
                      keyboard
                        ? () => {
                            setNavState({ activeIndex: i });
                            setHasNavigated(true);
                          }
                        : undefined
                    }
                    onClick={
                      keyboard
                        ? () => {
                            setNavState({ activeIndex: i });
                            setHasNavigated(true);
                          }
                        : undefined
                    }
                    className={cn(
                      tableStyles.tr,
                      props.rowClassName?.(row.original),
                      keyboard && "outline-none focus-visible:ring-2 focus-visible:ring-sky-600 focus-visible:ring-inset",
                      isActive && "bg-sky-50/70 dark:bg-sky-950/30",
                    )}
                  >
                    {row.getAllCells().map((cell) => {
                      const m = cell.column.columnDef.meta;
                      const cls = cn(tableStyles.td, m?.align === "right" && "text-right whitespace-nowrap tabular-nums", m?.className);
                      return m?.isRowHeader ? (
                        <th key={cell.id} scope="row" className={cn(cls, "text-left font-normal")}>
                          <table.FlexRender cell={cell} />
                        </th>
                      ) : (
                        <td key={cell.id} className={cls}>
                          <table.FlexRender cell={cell} />
                        </td>
                      );
                    })}
                  </tr>
                );
              })
            )}
          </tbody>
        </table>
      </div>

      {pagination && !isEmpty ? <Pager pagination={pagination} /> : null}

      {keyboard ? (
        <Dialog isOpen={isHelpOpen} onClose={() => setIsHelpOpen(false)} title="Keyboard shortcuts">
          <dl className="grid grid-cols-[6rem_1fr] gap-x-4 gap-y-1 text-sm">
            {helpRows(keyboard, Boolean(selection)).map(([k, what]) => (
              <div key={k} className="contents">
                <dt>
                  <kbd className="rounded border border-zinc-300 px-1 font-mono text-xs dark:border-zinc-700">{k}</kbd>
                </dt>
                <dd>{what}</dd>
              </div>
            ))}
          </dl>
          <p className="mt-3 text-xs text-zinc-600 dark:text-zinc-400">Shortcuts are off while you type in a field or a dialog is open.</p>
          <div className="mt-4 flex justify-end">
            <Button onClick={() => setIsHelpOpen(false)}>Close</Button>
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}

function selectColumn<T extends RowData>(rowLabel: (row: T) => string, allLabel: string): ColumnDef<T> {
  return {
    id: "select",
    meta: { headerClassName: "w-8" },
    header: ({ table }) => (
      <input
        type="checkbox"
        aria-label={allLabel}
        checked={table.getIsAllPageRowsSelected()}
        ref={(el) => {
          if (el) el.indeterminate = !table.getIsAllPageRowsSelected() && table.getIsSomePageRowsSelected();
        }}
        onChange={() => table.toggleAllPageRowsSelected()}
        className="size-4 accent-zinc-800 dark:accent-zinc-200"
      />
    ),
    cell: ({ row }) => (
      <input
        type="checkbox"
        aria-label={`Select ${rowLabel(row.original)}`}
        checked={row.getIsSelected()}
        disabled={!row.getCanSelect()}
        onChange={() => row.toggleSelected()}
        onClick={(e) => e.stopPropagation()}
        className="size-4 accent-zinc-800 dark:accent-zinc-200"
      />
    ),
  };
}

function SkeletonRows({ columnCount, label }: { columnCount: number; label: string }) {
  return (
    <>
      {[0, 1, 2].map((i) => (
        <tr key={i}>
          <td colSpan={columnCount} className={tableStyles.td}>
            {i === 0 ? (
              <span role="status" className="sr-only">
                {label}
              </span>
            ) : null}
            <span aria-hidden="true" className="block h-4 animate-pulse rounded bg-zinc-100 dark:bg-zinc-800" />
          </td>
        </tr>
      ))}
    </>
  );
}

function Pager({ pagination }: { pagination: NonNullable<DataTableProps<RowData>["pagination"]> }) {
  const nav = useListNavigation();
  return (
    <nav aria-label={pagination.label} className="mt-3 flex items-center justify-between gap-2 text-sm">
      <span className="text-zinc-600 dark:text-zinc-400">{pagination.summary}</span>
      <div className="flex gap-2">
        {pagination.links.map((l) => (
          <ButtonLink
            key={l.label}
            href={l.href}
            rel={l.rel}
            onClick={(e) => {
              // A plain click is a client navigation with the table's loading state; modified clicks open tabs.
              if (!l.href || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || e.button !== 0) return;
              e.preventDefault();
              nav.navigate(l.href);
            }}
          >
            {l.label}
          </ButtonLink>
        ))}
      </div>
    </nav>
  );
}

function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="font-mono">{children}</kbd>;
}

function KeyboardHint<T extends RowData>({ id, keyboard, canSelect, className }: { id: string; keyboard: NonNullable<DataTableProps<T>["keyboard"]>; canSelect: boolean; className?: string }) {
  const parts: ReactNode[] = [];
  if (canSelect)
    parts.push(
      <span key="x">
        <Kbd>x</Kbd> select
      </span>,
    );
  for (const s of keyboard.shortcuts ?? [])
    parts.push(
      <span key={s.key}>
        <Kbd>{s.key}</Kbd> {s.hint}
      </span>,
    );
  if (keyboard.rowHref)
    parts.push(
      <span key="enter">
        <Kbd>Enter</Kbd> open
      </span>,
    );
  parts.push(
    <span key="help">
      <Kbd>?</Kbd> help
    </span>,
  );
  return (
    <p id={id} className={cn("text-xs text-zinc-600 dark:text-zinc-400", className)}>
      Keys: <Kbd>j</Kbd>/<Kbd>k</Kbd> move
      {parts.map((p, i) => (
        <span key={i}> · {p}</span>
      ))}
    </p>
  );
}

function helpRows<T extends RowData>(keyboard: NonNullable<DataTableProps<T>["keyboard"]>, canSelect: boolean): [string, string][] {
  const rows: [string, string][] = [
    ["j / k", `Move to the next / previous ${keyboard.noun}`],
    ["↓ / ↑", `The same, while a ${keyboard.noun} row has focus (Home / End: first / last)`],
  ];
  if (canSelect) rows.push(["x", `Select or unselect the current ${keyboard.noun}`]);
  for (const s of keyboard.shortcuts ?? []) rows.push([s.key, s.description]);
  if (keyboard.rowHref) rows.push(["Enter", `Open the current ${keyboard.noun}`]);
  rows.push(["?", "Show this help"]);
  return rows;
}

function CsvExportButton<T extends RowData>({ csv }: { csv: NonNullable<DataTableProps<T>["csv"]> }) {
  const toast = useToast();
  const [progress, setProgress] = useState<number | null>(null);
  const maxRows = csv.maxRows ?? CSV_MAX_ROWS;

  async function run() {
    setProgress(0);
    try {
      const { rows, isTruncated } = await collectRows(csv.fetchPage, { maxRows, onProgress: setProgress });
      const text = toCsv(csv.columns, rows);
      const name = `${csv.fileName}-${new Date().toISOString().replace(/[:.]/g, "-")}.csv`;
      // A byte-order mark so spreadsheet programs read the file as UTF-8.
      const url = URL.createObjectURL(new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      if (isTruncated) toast.info(`Exported the first ${rows.length.toLocaleString("en-GB")} rows to ${name}; at most ${maxRows.toLocaleString("en-GB")} are exported at once. Narrow the filters to export the rest.`);
      else toast.success(`Exported ${rows.length.toLocaleString("en-GB")} row${rows.length === 1 ? "" : "s"} to ${name}.`);
    } catch (e) {
      toast.error(`Export failed: ${errorMessageOf(e)}`);
    } finally {
      setProgress(null);
    }
  }

  return (
    <Button onClick={() => void run()} disabled={progress !== null} aria-busy={progress !== null}>
      {progress === null ? "Export CSV" : `Exporting… ${progress.toLocaleString("en-GB")} rows`}
    </Button>
  );
}
