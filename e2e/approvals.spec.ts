/**
 * Four eyes in a real browser, two people at once: an operator proposes a correction; an approver
 * sets up an authenticator (computing a real TOTP code from the secret the page shows, as an app
 * would), approves with the keyboard, and the account's balance changes on its page. The proposer
 * cannot approve their own proposal: not in the UI (even holding the approver role too) and not
 * through the raw API.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { signIn } from "./support/auth";
import { generateTotpCode } from "../server/auth/totp";
import { formatMoneyDisplay, parseAmount } from "../server/money/amount";

// An EUR wallet of the demo world no other spec changes.
const WALLET = "customer:0003:wallet";
const AMOUNT = "25.00";

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

async function postedBalanceOf(page: Page, code: string): Promise<bigint> {
  await page.goto(`/accounts?codePrefix=${encodeURIComponent(code)}`);
  await page.getByRole("table").getByRole("link", { name: code }).click();
  await expect(page.getByRole("heading", { name: code, level: 1 })).toBeVisible();
  const card = page.getByRole("region", { name: "Balances" }).locator("div").filter({ has: page.getByRole("heading", { name: "Posted balance" }) });
  const text = (await card.getByText(/ EUR$/).first().textContent())!.trim();
  return parseAmount(text.replace(/ EUR$/, "").replaceAll(",", ""), "EUR", { allowNegative: true });
}

async function proposeCorrection(page: Page, description: string): Promise<string> {
  await page.goto("/approvals");
  await page.getByRole("link", { name: /New adjustment/ }).click();
  await expect(page.getByRole("heading", { name: "New adjustment", level: 1 })).toBeVisible();
  await page.getByLabel("Entry description").fill(description);
  await page.getByLabel("Account code, line 1").fill("bank:omnibus:EUR");
  await page.getByLabel("Amount, line 1").fill("8.855");
  await page.getByLabel("Account code, line 2").fill(WALLET);
  await page.getByLabel("Side, line 2").selectOption("credit");
  await page.getByLabel("Amount, line 2").fill("8.855");
  await page.getByLabel("Reason").fill("Customer was credited 25.00 EUR short by the partner (ticket OPS-e2e).");
  // A third decimal in EUR is refused, never rounded.
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: /8\.855.*more decimals than EUR allows/ })).toBeVisible();

  await page.getByLabel("Amount, line 1").fill(AMOUNT);
  await page.getByLabel("Amount, line 2").fill(AMOUNT);
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  const preview = page.getByRole("region", { name: "Preview" });
  await expect(preview.getByText("Needs 1 approval by someone other than you")).toBeVisible();
  await expect(preview.getByRole("table", { name: /Balances before and after approval/ }).getByRole("row", { name: new RegExp(WALLET) })).toBeVisible();
  await page.getByRole("button", { name: "Propose", exact: true }).click();
  await expect(page).toHaveURL(/\/approvals\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { name: description, level: 1 })).toBeVisible();
  return page.url().split("/").pop()!;
}

/** The proposal's approve call sent straight to the API with the page's session cookie. */
async function approveThroughApi(page: Page, proposalId: string) {
  const origin = new URL(page.url()).origin;
  return page.request.post("/api/trpc/approvals.approve", {
    headers: { "Content-Type": "application/json", Origin: origin },
    data: { json: { proposalId } },
  });
}

test.describe("approvals", () => {
  test("an operator proposes, an approver enrols TOTP and approves, the balance changes", async ({ browser }) => {
    const operator = await newPage(browser);
    const approver = await newPage(browser);
    await signIn(operator, "operator");
    await signIn(approver, "approver");

    const before = await postedBalanceOf(operator, WALLET);
    const description = `Correct short credit e2e ${randomUUID().slice(0, 8)}`;
    const id = await proposeCorrection(operator, description);

    // The proposer sees the proposal, but no way to approve it, and the API refuses too.
    await expect(operator.getByRole("button", { name: /^Approve/ })).toHaveCount(0);
    await expect(operator.getByRole("button", { name: "Withdraw" })).toBeVisible();
    expect((await approveThroughApi(operator, id)).status()).toBe(403);

    // The approver's badge counts what waits for them.
    await approver.goto("/approvals");
    const nav = approver.getByRole("navigation", { name: "Main" });
    const badge = await nav.getByRole("link", { name: /^Approvals/ }).textContent();
    const waiting = Number(/\((\d+)\)/.exec(badge ?? "")?.[1] ?? "0");
    expect(waiting).toBeGreaterThanOrEqual(1);
    await expect(approver.getByRole("link", { name: description })).toBeVisible();

    // Approving without an authenticator is not possible: set one up, with a real code.
    await approver.getByRole("link", { name: description }).click();
    await expect(approver.getByRole("link", { name: "Set up your authenticator" })).toBeVisible();
    await approver.getByRole("link", { name: "Set up your authenticator" }).click();
    await approver.getByRole("button", { name: "Set up authenticator" }).click();
    const secret = (await approver.getByTestId("totp-secret").textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await approver.getByLabel("Code from the app").fill(generateTotpCode(secret, new Date()));
    await approver.getByRole("button", { name: "Confirm" }).click();
    await expect(approver.getByRole("list", { name: "Recovery code list" }).getByRole("listitem")).toHaveCount(10);

    // Back on the proposal: the code just entered covers the next few minutes; "a" approves.
    await approver.goto(`/approvals/${id}`);
    await expect(approver.getByText(/Code verified: no code needed until/)).toBeVisible();
    await expect(approver.getByRole("button", { name: /^Approve/ })).toBeEnabled();
    await approver.keyboard.press("a");
    await expect(approver.getByRole("status").filter({ hasText: "Approved and applied to the ledger." })).toBeVisible();
    await expect(approver.getByText("applied", { exact: true }).first()).toBeVisible();
    await expect(nav.getByRole("link", { name: /^Approvals/ })).toHaveText(waiting > 1 ? `Approvals (${waiting - 1})` : "Approvals");

    // The entry links back to the proposal, and the wallet's balance moved by exactly 25.00 EUR.
    await approver.getByRole("link", { name: /^Entry [0-9a-f-]{36}$/ }).click();
    await expect(approver.getByRole("link", { name: `Proposal ${id}` })).toBeVisible();
    const after = await postedBalanceOf(operator, WALLET);
    expect(formatMoneyDisplay(after - before, "EUR")).toBe("25.00 EUR");
    await operator.context().close();
    await approver.context().close();
  });

  test("someone holding both roles proposes and cannot approve their own proposal, in the UI or the API", async ({ browser }) => {
    const admin = await newPage(browser);
    await signIn(admin, "admin");
    const email = `dual-${randomUUID().slice(0, 8)}@demo.local`;
    const password = `dual-role-${randomUUID()}`;
    const created = await admin.request.post("/api/trpc/admin.users.create", {
      headers: { "Content-Type": "application/json", Origin: new URL(admin.url()).origin },
      data: { json: { email, name: "Dana Dual", roles: ["operator", "approver"], password } },
    });
    expect(created.status()).toBe(200);

    const dual = await newPage(browser);
    await dual.goto("/signin");
    await dual.getByLabel("Email").fill(email);
    await dual.getByLabel("Password").fill(password);
    await dual.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(dual.getByRole("navigation", { name: "Main" })).toBeVisible();

    const id = await proposeCorrection(dual, `Dual-role correction ${randomUUID().slice(0, 8)}`);
    await expect(dual.getByText("You proposed this adjustment; another approver must decide on it.")).toBeVisible();
    await expect(dual.getByRole("button", { name: /^Approve/ })).toHaveCount(0);
    await dual.keyboard.press("a");
    await expect(dual.getByText("0 of 1 approval given.")).toBeVisible();
    const res = await approveThroughApi(dual, id);
    expect(res.status()).toBe(403);
    expect(JSON.stringify(await res.json())).toContain("SELF_APPROVAL");
    // Their own proposal is not in "Waiting for me".
    await dual.goto("/approvals?view=waiting_for_me");
    await expect(dual.getByRole("link", { name: /Dual-role correction/ })).toHaveCount(0);
    await admin.context().close();
    await dual.context().close();
  });
});
