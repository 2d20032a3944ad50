/**
 * Pricing end to end, as people use it: an admin proposes a new version of the instant rail's fee
 * schedule and sees what it would have charged (the simulation), an approver sees the same
 * simulation on the proposal, sets up an authenticator and approves it, and a new transfer
 * (created by a service, as transfers are) is priced by the new version, with the price explained
 * line by line on its page and a link to the version.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { createApprover, enrolAuthenticator, signIn, signInWith } from "./support/auth";

/** A demo EUR wallet in no segment: the default EUR rule prices it. */
const WALLET = "customer:0003:wallet";

/** The proposed version: every EUR payment on the instant rail costs exactly 1.00 EUR. */
function flatEurDefinition(current: { rules: { id: string }[] }) {
  return {
    rules: current.rules.map((r) =>
      r.id === "eur-default" ? { id: "eur-default", currency: "EUR", minMinor: null, maxMinor: null, tiers: [{ label: "flat", fromMinor: "0", toMinor: null, fixedMinor: "100", rateBps: "0" }] } : r,
    ),
  };
}

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function trpc(page: Page, path: string, input: unknown, headers: Record<string, string> = {}) {
  const origin = new URL(page.url()).origin;
  const r = await page.request.post(`/api/trpc/${path}`, { headers: { "Content-Type": "application/json", Origin: origin, ...headers }, data: { json: input } });
  expect(r.status(), `${path}: ${await r.text()}`).toBe(200);
  return ((await r.json()) as { result: { data: { json: unknown } } }).result.data.json;
}

test.describe("pricing", () => {
  test("an admin proposes a schedule version with its simulation, an approver approves it, and a new transfer is priced by it", async ({ browser }) => {
    test.setTimeout(120_000);
    const admin = await newPage(browser);
    await signIn(admin, "admin");

    // The Pricing page lists a schedule per rail; the instant rail's is at version 2.
    await admin.goto("/pricing");
    await expect(admin.getByRole("heading", { name: "Pricing", level: 1 })).toBeVisible();
    const schedules = admin.getByRole("table", { name: "Fee schedules, one per rail" });
    await expect(schedules.getByRole("link", { name: "batch-std" })).toBeVisible();
    await schedules.getByRole("link", { name: "instant-std" }).click();
    await expect(admin.getByRole("heading", { name: "Fee schedule instant-std", level: 1 })).toBeVisible();
    await expect(admin.getByRole("table", { name: "Rule by rule, v1 → v2" }).getByText("eur-default")).toBeVisible();

    // A new version: a flat 1.00 EUR for EUR payments, in force as soon as it is approved.
    const current = JSON.parse(await admin.getByLabel(/^Definition/).inputValue()) as { rules: { id: string }[] };
    await admin.getByLabel(/^Definition/).fill(JSON.stringify(flatEurDefinition(current), null, 2));
    await admin.getByLabel(/^Effective from/).fill(new Date().toISOString().slice(0, 16));

    // The simulation over the demo week: what the draft would have charged against what was charged.
    await admin.getByRole("button", { name: "Simulate", exact: true }).click();
    const result = admin.getByRole("region", { name: "Simulation result" });
    await expect(result.getByText(/transfers? on rail instant created from/)).toBeVisible();
    await expect(result.getByRole("table", { name: "Totals per currency" }).getByRole("rowheader", { name: "EUR", exact: true })).toBeVisible();
    await expect(result.getByRole("table", { name: "Customers most affected" })).toBeVisible();

    await admin.getByLabel("Reason").fill("e2e: a flat fee for EUR instant payments");
    await admin.getByRole("button", { name: "Propose version 3" }).click();
    await expect(admin).toHaveURL(/\/approvals\/[0-9a-f-]{36}$/);
    const proposalUrl = admin.url();
    await expect(admin.getByRole("status").filter({ hasText: "Fee schedule instant-std v3 proposed" })).toBeVisible();
    // The proposer cannot approve it.
    await expect(admin.getByRole("button", { name: /^Approve/ })).toHaveCount(0);

    // Transfers are created by services: a key that may create them, waiting for its activation
    // (a key that moves money is activated under four eyes too).
    const key = (await trpc(admin, "admin.serviceKeys.create", { name: `e2e-pricing-${Date.now()}`, scopes: ["transfers:create", "ledger:read"] })) as { secret: string; activationProposalId: string | null };
    expect(key.activationProposalId).not.toBeNull();

    // The approver sees the same simulation on the proposal, sets up an authenticator, approves.
    const approver = await newPage(browser);
    const credentials = await createApprover(admin, "Pia Pricing Approver");
    await signInWith(approver, credentials.email, credentials.password);
    await approver.goto(proposalUrl);
    // Nothing changed between proposing and reviewing: no "the preview changed" warning.
    await expect(approver.getByRole("alert", { name: "The preview changed" })).toHaveCount(0);
    await approver.getByRole("button", { name: "Simulate", exact: true }).click();
    await expect(approver.getByRole("region", { name: "Simulation result" }).getByRole("table", { name: "Totals per currency" })).toBeVisible();
    await expect(approver.getByRole("link", { name: "Set up your authenticator" })).toBeVisible();
    await enrolAuthenticator(approver);
    await approver.goto(proposalUrl);
    await approver.getByRole("button", { name: /^Approve/ }).click();
    await expect(approver.getByRole("status").filter({ hasText: "Approved and applied" })).toBeVisible();
    // Within the same verified minutes, the approver also activates the service's key.
    await trpc(approver, "approvals.approve", { proposalId: key.activationProposalId });

    // Version 3 takes effect a few seconds after its approval (the pricing cache's TTL).
    await expect(async () => {
      await admin.goto("/pricing");
      await expect(admin.getByRole("table", { name: "Fee schedules, one per rail" }).getByText(/^v3 since/)).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });

    // The service creates a transfer (people do not); it is priced by version 3.
    const bearer = { authorization: `Bearer ${key.secret}` };
    const account = await admin.request.get(`/api/trpc/ledger.accounts.get?input=${encodeURIComponent(JSON.stringify({ json: { code: WALLET } }))}`, { headers: bearer });
    expect(account.status()).toBe(200);
    const accountId = ((await account.json()) as { result: { data: { json: { id: string } } } }).result.data.json.id;
    const created = (await trpc(
      admin,
      "transfers.create",
      { sourceAccountId: accountId, counterpartyName: "Hoffmann Elektro GmbH", counterpartyAccount: "DE89 3704 0044 0532 0130 00", amountMinor: "4200", currency: "EUR", rail: "instant", reference: "e2e-priced", idempotencyKey: `e2e-priced-${Date.now()}` },
      bearer,
    )) as { transfer: { id: string; feeMinor: string } };
    expect(created.transfer.feeMinor).toBe("100");

    // Its page explains the price line by line and links to the version that priced it.
    await admin.goto(`/transfers/${created.transfer.id}`);
    const price = admin.getByRole("region", { name: "Price" });
    await expect(price.getByText("fee = 1.00 = 1.00 EUR, schedule instant-std v3, rule eur-default flat, rounded half-even")).toBeVisible();
    await expect(price.getByRole("region", { name: "Fee" }).getByText("rounded half-even to whole minor units: 1.00 EUR")).toBeVisible();
    await expect(price.getByRole("table", { name: /The settlement entry/ }).getByRole("rowheader", { name: "ops:fees:EUR" })).toBeVisible();
    await price.getByRole("link", { name: "Fee schedule instant-std v3" }).click();
    await expect(admin.getByRole("heading", { name: "Fee schedule instant-std", level: 1 })).toBeVisible();
    await expect(admin.getByRole("heading", { name: "Version 3" })).toBeVisible();
    await admin.context().close();
    await approver.context().close();
  });
});
