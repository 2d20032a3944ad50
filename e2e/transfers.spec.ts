import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./support/auth";

// The e2e world (scripts/e2e-server.ts + the demo seed) holds one stuck transfer with the
// reference below: reserved, its submission's outcome unknown (attention_reason "outcome
// unknown..."), so only an operator can move it. The worker and the partner sandbox run without
// faults, so once retried it is submitted again and settles within seconds.
const STUCK_REF = "e2e-stuck-1";

// The viewer looks first, while the transfer is still stuck (so an operator would have actions
// there); then the operator retries it.
test.describe.configure({ mode: "serial" });

async function openStuckTransferFromList(page: Page): Promise<string> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Transfers" }).click();
  await expect(page.getByRole("heading", { name: "Transfers", level: 1 })).toBeVisible();
  // Filter on the server: search by reference, stuck only; the state lives in the URL.
  await page.getByRole("searchbox", { name: "Search" }).fill(STUCK_REF);
  await page.getByRole("checkbox", { name: "Stuck only" }).check();
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/[?&]stuck=1/);
  await expect(page).toHaveURL(new RegExp(`[?&]q=${STUCK_REF}`));
  const table = page.getByRole("table");
  const row = table.getByRole("row").filter({ has: page.getByRole("link", { name: STUCK_REF }) });
  await expect(row).toHaveCount(1);
  await expect(row.getByText(/^[\d,]+\.\d\d [A-Z]{3}$/)).toBeVisible();
  await expect(row.getByText("reserved", { exact: true })).toBeVisible();
  await expect(row.getByText(/outcome unknown/).first()).toBeVisible();
  // A deep link reproduces the same view (back button and bookmarks work).
  const filtered = page.url();
  await row.getByRole("link", { name: STUCK_REF }).click();
  await expect(page.getByRole("heading", { name: STUCK_REF, level: 1 })).toBeVisible();
  const id = new URL(page.url()).pathname.split("/").pop()!;
  await page.goBack();
  await expect(page).toHaveURL(filtered);
  await expect(page.getByRole("searchbox", { name: "Search" })).toHaveValue(STUCK_REF);
  return id;
}

test.describe("transfers console", () => {
  test("a viewer sees the stuck transfer but no action, and the API refuses their calls", async ({ page }) => {
    await signIn(page, "viewer");
    const id = await openStuckTransferFromList(page);

    await page.goto(`/transfers/${id}`);
    await expect(page.getByRole("heading", { name: STUCK_REF, level: 1 })).toBeVisible();
    await expect(page.getByRole("region", { name: "Stuck", exact: true })).toContainText(/outcome unknown/);
    await expect(page.getByRole("heading", { name: "State timeline" })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Actions", exact: true })).toHaveCount(0);
    for (const name of ["Retry now", "Query partner", "Cancel transfer", "Mark failed", "Propose force settle", "Propose force fail"]) {
      await expect(page.getByRole("button", { name })).toHaveCount(0);
    }

    await page.goto("/transfers/stuck");
    const queue = page.getByRole("table", { name: "Stuck transfers, oldest first" });
    await expect(queue.getByRole("link", { name: STUCK_REF })).toBeVisible();
    await expect(queue.getByRole("checkbox")).toHaveCount(0);
    await expect(queue.getByRole("button")).toHaveCount(0);
    await expect(page.getByRole("button", { name: /^Retry selected/ })).toHaveCount(0);

    // The API checks the permission itself, whatever the page shows.
    const status = await page.evaluate(async (transferId) => {
      const res = await fetch("/api/trpc/transfers.retry", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: { transferId, reason: "e2e: a viewer tries to retry", idempotencyKey: `e2e-viewer-${crypto.randomUUID()}` } }),
      });
      return res.status;
    }, id);
    expect(status).toBe(403);
    await page.reload();
    await expect(queue.getByRole("link", { name: STUCK_REF })).toBeVisible();
  });

  test("the list sorts on the server from its headers, exports exact CSV and opens a row by keyboard", async ({ page }) => {
    await signIn(page, "viewer");
    await page.goto(`/transfers?q=${STUCK_REF}`);
    const table = page.getByRole("table", { name: /^Transfers, / });
    await expect(table.getByRole("link", { name: STUCK_REF })).toBeVisible();

    // Sorting is a URL change the server answers; the back button undoes it.
    await table.getByRole("button", { name: "Amount" }).click();
    await expect(page).toHaveURL(/[?&]sort=amount_desc/);
    await expect(table.getByRole("columnheader", { name: "Amount" })).toHaveAttribute("aria-sort", "descending");
    await page.goBack();
    await expect(page).not.toHaveURL(/sort=/);
    await expect(table.getByRole("columnheader", { name: "Created (UTC)" })).toHaveAttribute("aria-sort", "descending");

    // The export holds every filtered row with the amount as minor units and as an exact decimal.
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export CSV" }).click();
    const csv = (await readFile(await (await download).path(), "utf8")).replace(/^\uFEFF/, "");
    const [header, ...lines] = csv.trimEnd().split("\r\n");
    expect(header).toContain("Reference,Created (UTC),State,State since (UTC),Amount (minor units),Amount,Amount currency");
    expect(lines.filter((l) => l.includes(`,${STUCK_REF},`))).toHaveLength(1);
    expect(lines.find((l) => l.includes(`,${STUCK_REF},`))).toContain(",12500,125.00,EUR,");

    // Keyboard: j marks the first transfer, Enter opens it.
    await page.keyboard.press("j");
    await expect(table.getByRole("row").filter({ hasText: STUCK_REF })).toHaveAttribute("aria-current", "true");
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { name: STUCK_REF, level: 1 })).toBeVisible();
  });

  test("an operator finds the stuck transfer, retries it and watches it settle", async ({ page }) => {
    // The worker shares the e2e world with the demo traffic's backlog: allow it a minute to pick
    // the retried transfer up, submit it and receive the settlement webhook.
    test.setTimeout(150_000);
    await signIn(page, "operator");
    const id = await openStuckTransferFromList(page);

    // The stuck queue: oldest first, with how long and why; keyboard help is one key away.
    await page.getByRole("link", { name: /^Stuck queue \(\d+\)$/ }).click();
    await expect(page.getByRole("heading", { name: "Stuck transfers", level: 1 })).toBeVisible();
    await expect(page.getByText(/Keys: j\/k move/)).toBeVisible();
    await page.keyboard.press("?");
    const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await expect(help).toBeVisible();
    await help.getByRole("button", { name: "Close" }).click();
    await expect(help).toBeHidden();

    const queue = page.getByRole("table", { name: "Stuck transfers, oldest first" });
    const row = queue.getByRole("row").filter({ has: page.getByRole("link", { name: STUCK_REF }) });
    await expect(row.getByText(/outcome unknown/).first()).toBeVisible();
    // Cancelling and failing sit behind the row's menu; Escape closes it without acting.
    await row.getByRole("button", { name: `More actions for ${STUCK_REF}` }).click();
    const menu = page.getByRole("menu");
    await expect(menu.getByRole("menuitem", { name: /Cancel transfer/ })).toBeVisible();
    await expect(menu.getByRole("menuitem", { name: /Mark failed/ })).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(menu).toBeHidden();
    await row.getByRole("button", { name: `Retry now ${STUCK_REF}` }).click();

    const dialog = page.getByRole("dialog", { name: `Retry now: ${STUCK_REF}` });
    await expect(dialog).toBeVisible();
    // The reason is required: nothing is sent without one.
    await dialog.getByRole("button", { name: "Retry", exact: true }).click();
    await expect(dialog).toBeVisible();
    await dialog.getByLabel("Reason").fill("e2e: partner confirmed the timeout was on their side; resubmitting");
    await dialog.getByRole("button", { name: "Retry", exact: true }).click();
    await expect(page.getByRole("status").filter({ hasText: `Retry of ${STUCK_REF} accepted` })).toBeVisible();
    const retriedAt = Date.now();
    await expect(dialog).toBeHidden();

    // Watch it settle on its page (the queue row may already be gone): the page re-reads itself
    // from the server while the transfer moves.
    await page.goto(`/transfers/${id}`);
    await expect(page.getByRole("heading", { name: STUCK_REF, level: 1 })).toBeVisible();
    const header = page.locator("header").filter({ has: page.getByRole("heading", { name: STUCK_REF, level: 1 }) });
    await expect(header.getByText("settled", { exact: true })).toBeVisible({ timeout: 75_000 });
    test.info().annotations.push({ type: "retry to settled on screen", description: `${Date.now() - retriedAt} ms` });
    await expect(page.getByRole("region", { name: "Stuck", exact: true })).toHaveCount(0);

    const timeline = page.getByRole("table", { name: /State transitions/ });
    await expect(timeline.getByRole("row").filter({ hasText: "settled" }).first()).toBeVisible();
    const ledger = page.getByRole("region", { name: "Ledger" });
    await expect(ledger.getByText("posted", { exact: true })).toBeVisible();
    await expect(ledger.getByRole("link", { name: /^[0-9a-f-]{36}$/ })).toBeVisible();
    await expect(page.getByRole("table", { name: /Calls to sandbox/ }).getByRole("row")).not.toHaveCount(1);
    const audit = page.getByRole("region", { name: "Audit trail" });
    await expect(audit.getByRole("row").filter({ hasText: "transfer.retry" }).filter({ hasText: "e2e: partner confirmed the timeout" })).toBeVisible();
    // Settled: no operator action applies any more.
    await expect(page.getByRole("button", { name: "Retry now" })).toHaveCount(0);
  });
});
