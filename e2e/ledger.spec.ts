import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./support/auth";

// The demo world (server/demo/seed-ledger.ts) opens EUR wallets customer:0001..0006; this test
// freezes and unfreezes customer:0002:wallet and leaves it active.
const WALLET = "customer:0002:wallet";

async function openWalletFromList(page: Page): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
  await expect(page.getByRole("heading", { name: "Accounts", level: 1 })).toBeVisible();
  await page.getByLabel("Currency").selectOption("EUR");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/currency=EUR/);
  const table = page.getByRole("table");
  // Every row of the filtered list is in EUR, with exact two-decimal amounts.
  for (const cell of await table.getByRole("row").filter({ has: page.getByRole("link") }).all()) {
    await expect(cell.getByRole("cell").nth(3)).toHaveText("EUR");
  }
  await expect(table.getByText(/^-?[\d,]+\.\d\d EUR$/).first()).toBeVisible();
  await table.getByRole("link", { name: WALLET }).click();
  await expect(page.getByRole("heading", { name: WALLET, level: 1 })).toBeVisible();
}

test.describe("ledger console", () => {
  test("an operator browses accounts, reads one, freezes and unfreezes it", async ({ page }) => {
    await signIn(page, "operator");
    await openWalletFromList(page);

    const balances = page.getByRole("region", { name: "Balances" });
    for (const label of ["Posted balance", "Pending balance", "Available balance"]) await expect(balances.getByRole("heading", { name: label })).toBeVisible();
    await expect(balances.getByText(/^[\d,]+\.\d\d EUR$/).first()).toBeVisible();
    await expect(page.getByRole("figure", { name: `Posted balance history of ${WALLET}` })).toBeVisible();
    await page.getByRole("navigation", { name: "Chart range" }).getByRole("link", { name: "7d" }).click();
    await expect(page).toHaveURL(/range=7d/);
    const postings = page.getByRole("table", { name: /Postings of/ });
    await expect(postings.getByRole("row")).not.toHaveCount(1);

    // A wallet left frozen by an earlier, interrupted run is unfrozen first.
    if (await page.getByRole("button", { name: "Unfreeze account" }).isVisible()) {
      await page.getByRole("button", { name: "Unfreeze account" }).click();
      await page.getByRole("dialog").getByLabel("Reason").fill("e2e: reset after an interrupted run");
      await page.getByRole("dialog").getByRole("button", { name: "Unfreeze" }).click();
      await expect(page.getByRole("button", { name: "Freeze account" })).toBeVisible();
    }

    await page.getByRole("button", { name: "Freeze account" }).click();
    const dialog = page.getByRole("dialog", { name: `Freeze account ${WALLET}` });
    await dialog.getByLabel("Reason").fill("e2e: suspected account takeover");
    await dialog.getByRole("button", { name: "Freeze" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Account ${WALLET} is now frozen.` })).toBeVisible();
    await expect(page.getByText("Frozen", { exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Unfreeze account" })).toBeVisible();

    await page.getByRole("button", { name: "Unfreeze account" }).click();
    const undo = page.getByRole("dialog", { name: `Unfreeze account ${WALLET}` });
    await undo.getByLabel("Reason").fill("e2e: customer verified by phone");
    await undo.getByRole("button", { name: "Unfreeze" }).click();
    await expect(page.getByRole("button", { name: "Freeze account" })).toBeVisible();
    await expect(page.getByText("Active", { exact: true })).toBeVisible();

    // Each posting links to its entry, which shows its postings and its audit record.
    await postings.getByRole("link").first().click();
    await expect(page.getByRole("heading", { name: /^Journal entry / })).toBeVisible();
    await expect(page.getByRole("table", { name: "Postings of this entry" }).getByRole("link", { name: WALLET })).toBeVisible();
    await expect(page.getByRole("link", { name: /^Audit record \d+$/ }).first()).toBeVisible();
  });

  test("a viewer reads an account but has no Freeze button", async ({ page }) => {
    await signIn(page, "viewer");
    await openWalletFromList(page);
    await expect(page.getByRole("region", { name: "Balances" })).toBeVisible();
    await expect(page.getByRole("button", { name: /freeze account/i })).toHaveCount(0);
  });
});
