// The kit's DataTable rendered to HTML (no browser): what a reader and a screen reader get from
// its markup, for the options the console's lists use.
import { describe, expect, it, vi } from "vitest";
import { createElement as h, type ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";

vi.mock("next/navigation", () => ({
  useRouter: () => ({ push: vi.fn(), refresh: vi.fn(), replace: vi.fn(), prefetch: vi.fn() }),
  useSearchParams: () => new URLSearchParams(),
  usePathname: () => "/things",
}));

const { DataTable } = await import("../../components/kit/data-table");
const { ToastProvider } = await import("../../components/toast");
type Cols = Parameters<typeof DataTable<Row>>[0]["columns"];

interface Row {
  id: string;
  ref: string;
  amountMinor: bigint;
}

const rows: Row[] = [
  { id: "a", ref: "first", amountMinor: 885n },
  { id: "b", ref: "second", amountMinor: 1200n },
];
const columns: Cols = [
  { id: "ref", header: "Reference", meta: { isRowHeader: true }, cell: ({ row }) => row.original.ref },
  { id: "amount", header: "Amount", accessorFn: (r) => r.amountMinor, enableSorting: true, sortDescFirst: true, meta: { align: "right" }, cell: ({ row }) => row.original.amountMinor.toString() },
  { id: "actions", header: "Actions", meta: { isHeaderHidden: true }, cell: () => "…" },
];

function render(node: ReactNode): string {
  return renderToStaticMarkup(h(ToastProvider, null, node));
}

describe("DataTable markup", () => {
  it("names the table by its caption, marks row headers and right-aligns amounts", () => {
    const html = render(h(DataTable<Row>, { columns, rows, getRowId: (r) => r.id, caption: "Things, newest first" }));
    expect(html).toContain('<caption class="sr-only">Things, newest first</caption>');
    expect(html).toMatch(/<th scope="row"[^>]*>first<\/th>/);
    expect(html).toMatch(/<td class="[^"]*text-right[^"]*">885<\/td>/);
    expect(html).toMatch(/<th scope="col"[^>]*><span class="sr-only">Actions<\/span><\/th>/);
    // Without `sorting`, no header is a button.
    expect(html).not.toContain("<button");
  });

  it("with server-side sorting, sortable headers are buttons and the sorted one says so", () => {
    const html = render(h(DataTable<Row>, { columns, rows, getRowId: (r) => r.id, caption: "Things", sorting: { current: { id: "amount", desc: true }, hrefFor: () => "/things" } }));
    expect(html).toMatch(/<th scope="col" aria-sort="descending"[^>]*><button type="button"[^>]*>Amount<span aria-hidden="true"[^>]*>▼<\/span><\/button><\/th>/);
    expect(html).not.toMatch(/aria-sort="[a-z]+"[^>]*>Reference/);
  });

  it("with selection, every row and the page get a labelled checkbox, and a bulk toolbar", () => {
    const html = render(
      h(DataTable<Row>, {
        columns,
        rows,
        getRowId: (r) => r.id,
        caption: "Things",
        selection: { rowLabel: (r) => r.ref, allLabel: "Select all things on this page", actions: (selected) => h("button", { type: "button" }, `Act on ${selected.length}`) },
      }),
    );
    expect(html).toContain('aria-label="Select all things on this page"');
    expect(html).toContain('aria-label="Select first"');
    expect(html).toContain('aria-label="Select second"');
    expect(html).toMatch(/role="toolbar" aria-label="Bulk actions"/);
    expect(html).toContain("Nothing selected");
    expect(html).toContain("Act on 0");
  });

  it("with the keyboard, the first row holds the tab stop and the table points to the keys", () => {
    const html = render(h(DataTable<Row>, { columns, rows, getRowId: (r) => r.id, caption: "Things", keyboard: { noun: "thing", rowHref: (r) => `/things/${r.id}` } }));
    expect(html).toMatch(/<p id="([^"]+)"[^>]*>Keys: <kbd[^>]*>j<\/kbd>\/<kbd[^>]*>k<\/kbd> move/);
    const hintId = /<p id="([^"]+)"/.exec(html)![1];
    expect(html).toContain(`aria-describedby="${hintId}"`);
    // The first row holds the tab stop; it is marked current only once someone navigates.
    expect(html).toMatch(/<tr tabindex="0" class=/);
    expect(html).not.toContain('aria-current="true"');
    expect(html).toMatch(/<tr tabindex="-1"/);
    expect(html).toContain("Enter</kbd> open");
  });

  it("a queue marks its first row current from the start, so its keys say which row they act on", () => {
    const html = render(h(DataTable<Row>, { columns, rows, getRowId: (r) => r.id, caption: "Queue", keyboard: { noun: "thing", isQueue: true } }));
    expect(html).toMatch(/<tr tabindex="0" aria-current="true"/);
    expect(html.match(/aria-current="true"/g)).toHaveLength(1);
  });

  it("shows the empty state instead of an empty table, and skeleton rows while loading", () => {
    const empty = h("section", { "aria-label": "Nothing yet" }, "Nothing yet: here is why");
    expect(render(h(DataTable<Row>, { columns, rows: [], getRowId: (r) => r.id, caption: "Things", empty }))).toBe(
      renderToStaticMarkup(h(ToastProvider, null, empty)),
    );
    const loading = render(h(DataTable<Row>, { columns, rows: [], getRowId: (r) => r.id, caption: "Things", empty, isLoading: true, loadingLabel: "Loading things…" }));
    expect(loading).toContain('<span role="status" class="sr-only">Loading things…</span>');
    expect(loading).toContain('aria-busy="true"');
    expect(loading).not.toContain("Nothing yet");
  });

  it("renders keyset pages as links, a missing page as a disabled look-alike", () => {
    const html = render(
      h(DataTable<Row>, {
        columns,
        rows,
        getRowId: (r) => r.id,
        caption: "Things",
        pagination: { label: "Thing pages", summary: "2 things", links: [{ label: "Newer", href: null, rel: "prev" }, { label: "Older", href: "/things?cursor=b", rel: "next" }] },
      }),
    );
    expect(html).toMatch(/<nav aria-label="Thing pages"/);
    expect(html).toMatch(/<span aria-disabled="true"[^>]*>Newer<\/span>/);
    expect(html).toMatch(/<a[^>]*href="\/things\?cursor=b"[^>]*>Older<\/a>/);
  });
});
