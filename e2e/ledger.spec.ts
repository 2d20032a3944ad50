import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./support/auth";
import { DEMO_SIGN_INS } from "../server/demo/demo-users";
import { generateTotpCode } from "../server/auth/totp";

// The demo world (server/demo/seed-ledger.ts) opens EUR wallets customer:0001..0006; this test
// freezes customer:0002:wallet, has a second person approve unfreezing it, and leaves it active.
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

    await page.getByRole("button", { name: "Freeze account" }).click();
    const dialog = page.getByRole("dialog", { name: `Freeze account ${WALLET}` });
    await dialog.getByLabel("Reason").fill("e2e: suspected account takeover");
    await dialog.getByRole("button", { name: "Freeze" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Account ${WALLET} is now frozen.` })).toBeVisible();
    await expect(page.getByText("Frozen", { exact: true })).toBeVisible();

    // Unfreezing undoes a control: the operator only proposes it, and the wallet stays frozen.
    await page.getByRole("button", { name: "Propose unfreeze" }).click();
    const undo = page.getByRole("dialog", { name: `Propose unfreeze ${WALLET}` });
    await undo.getByLabel("Reason").fill("e2e: customer verified by phone");
    await undo.getByRole("button", { name: "Propose" }).click();
    await expect(page).toHaveURL(/\/approvals\/[0-9a-f-]{36}$/);
    const proposalUrl = new URL(page.url()).pathname;
    await expect(page.getByRole("button", { name: /^Approve/ })).toHaveCount(0);

    // A second person (the demo's other approver) sets up an authenticator and approves.
    const abe = DEMO_SIGN_INS.find((u) => u.email === "approver2@demo.local")!;
    const approver = await page.context().browser()!.newContext().then((c) => c.newPage());
    await approver.goto("/signin");
    await approver.getByLabel("Email").fill(abe.email);
    await approver.getByLabel("Password").fill(abe.password!);
    await approver.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(approver.getByRole("navigation", { name: "Main" })).toBeVisible();
    await approver.goto("/settings/security");
    await approver.getByRole("button", { name: "Set up authenticator" }).click();
    const secret = (await approver.getByTestId("totp-secret").textContent())!.trim();
    await approver.getByLabel("Code from the app").fill(generateTotpCode(secret, new Date()));
    await approver.getByRole("button", { name: "Confirm" }).click();
    await expect(approver.getByRole("list", { name: "Recovery code list" }).getByRole("listitem")).toHaveCount(10);
    await approver.goto(proposalUrl);
    await expect(approver.getByRole("button", { name: /^Approve/ })).toBeEnabled();
    await approver.getByRole("button", { name: /^Approve/ }).click();
    await expect(approver.getByText("applied", { exact: true }).first()).toBeVisible();
    await approver.context().close();

    await openWalletFromList(page);
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
