/**
 * Reconciliation in a real browser, as the issue tells it: an operator imports a camt.053
 * statement of the sandbox bank, finds the break its unexplained line became among the queue's
 * rows, and matches it by hand to the ledger posting it belongs to (picked among the ranked
 * candidates); another operator finds the other new line's break in the queue and proposes writing
 * it off; an approver (setting up a real authenticator) approves it, the break closes and the
 * ledger shows the write-off entry.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApprover, createPerson, enrolAuthenticator, signIn, signInWith } from "./support/auth";
import { writeCamt053 } from "../server/partners/camt053/writer";
import { sandboxIban } from "../server/sandbox/statements";

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

/** A query through the API with the page's session (superjson: bigints come back as strings). */
async function query<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  const res = await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  expect(res.status()).toBe(200);
  return ((await res.json()) as { result: { data: { json: T } } }).result.data.json;
}

test.describe("reconciliation", () => {
  test("import a statement, match a break by hand; another operator proposes a write-off, an approver approves", async ({ browser }) => {
    const operator = await newPage(browser);
    await signIn(operator, "operator");

    // A ledger posting the demo statements never showed: its statement line arrives now, under a reference the ledger does not know.
    const sources = await query<{ id: string; name: string }[]>(operator, "recon.sources.list", {});
    const bank = sources.find((s) => s.name === "Sandbox bank EUR")!;
    expect(bank).toBeDefined();
    const open = await query<{ items: { id: string; amountMinor: string; direction: "credit" | "debit"; occurredOn: string; postingId: string | null }[] }>(operator, "recon.breaks.list", {
      sourceId: bank.id,
      types: ["missing_in_statement"],
      statuses: ["open"],
      limit: 200,
    });
    const target = open.items.find((b) => b.postingId !== null)!;
    expect(target).toBeDefined();
    const tag = randomUUID().slice(0, 8).toUpperCase();
    const entry = (amountMinor: bigint, direction: "credit" | "debit", ref: string) => ({
      amountMinor,
      currency: "EUR",
      direction,
      status: "BOOK",
      isReversal: false,
      bookingDate: target.occurredOn,
      valueDate: target.occurredOn,
      accountServicerReference: `E2E${tag}${ref}`,
      endToEndId: `E2E-${tag}-${ref}`,
      remittanceInfo: null,
      counterpartyName: null,
      counterpartyAccount: null,
      bankTransactionCode: "PMNT/ICDT/ESCT",
      additionalInfo: null,
      details: [],
    });
    const xml = writeCamt053({
      version: "001.08",
      messageId: `E2E-${tag}`,
      createdAt: `${target.occurredOn}T23:00:00Z`,
      statements: [
        {
          statementId: `E2E-${tag}`,
          electronicSequenceNumber: null,
          accountIban: sandboxIban("EUR"),
          accountCurrency: "EUR",
          entries: [entry(BigInt(target.amountMinor), target.direction, "MATCH"), entry(1337n, "credit", "WRITEOFF")],
        },
      ],
    });
    const file = path.join(tmpdir(), `e2e-${tag}.camt053.xml`);
    writeFileSync(file, xml);

    // Import through the page.
    await operator.goto("/reconciliation/import");
    await operator.getByLabel(/^File/).setInputFiles(file);
    await operator.getByRole("button", { name: "Import", exact: true }).click();
    const result = operator.getByRole("status").filter({ hasText: /Imported 2 lines/ });
    await expect(result).toBeVisible({ timeout: 30_000 });
    await expect(result).toContainText("breaks opened");

    // Find the break among the queue's rows (filtered to the source and type) and open it.
    await operator.goto(`/breaks?source=${bank.id}&type=missing_in_ledger`);
    await operator.getByRole("row").filter({ hasText: `E2E-${tag}-MATCH` }).getByRole("link", { name: "Missing in ledger" }).click();
    await expect(operator).toHaveURL(/\/breaks\/[0-9a-f-]{36}$/);
    await expect(operator.getByRole("heading", { name: /Missing in ledger/, level: 1 })).toBeVisible();
    await operator.getByRole("checkbox", { name: `Pick posting ${target.postingId}` }).check();
    await expect(operator.getByText(/running difference 0\.00 EUR \(exact\)/)).toBeVisible();
    await operator.getByLabel("Why these belong together").fill("the bank booked it under its own reference (e2e)");
    await operator.getByRole("button", { name: "Match by hand" }).click();
    await expect(operator.getByText("resolved", { exact: true }).first()).toBeVisible({ timeout: 15_000 });
    // The ledger-side break of that posting closed with it.
    const after = await query<{ status: string; resolution: string | null }>(operator, "recon.breaks.get", { breakId: target.id });
    expect(after).toMatchObject({ status: "resolved", resolution: "matched" });

    // Another operator finds the other line's break in the queue and proposes writing it off.
    const admin = await newPage(browser);
    await signIn(admin, "admin");
    const second = await createPerson(admin, "Otto Second Operator", "operator");
    const operator2 = await newPage(browser);
    await signInWith(operator2, second.email, second.password);
    await operator2.goto(`/breaks?source=${bank.id}&type=missing_in_ledger`);
    await operator2.getByRole("row").filter({ hasText: `E2E-${tag}-WRITEOFF` }).getByRole("link", { name: "Missing in ledger" }).click();
    await expect(operator2).toHaveURL(/\/breaks\/[0-9a-f-]{36}$/);
    const writeOffBreakId = operator2.url().split("/").pop()!;
    await operator2.getByRole("button", { name: "Propose write-off" }).click();
    await operator2.getByLabel("Reason").fill("Unidentified bank credit of 13.37 EUR, below the investigation threshold (e2e)");
    await operator2.getByRole("button", { name: "Propose write-off" }).last().click();
    await expect(operator2.getByText(/Write-off proposed/)).toBeVisible({ timeout: 15_000 });
    const detail = await query<{ writeOffProposalId: string | null; reference: string | null }>(operator2, "recon.breaks.get", { breakId: writeOffBreakId });
    expect(detail.reference).toBe(`E2E-${tag}-WRITEOFF`);
    expect(detail.writeOffProposalId).toMatch(/^[0-9a-f-]{36}$/);
    // The write-off is proposed by the second operator, not by the one who matched.
    const proposal = await query<{ proposer: { label: string } }>(operator2, "approvals.get", { id: detail.writeOffProposalId });
    expect(proposal.proposer.label).toBe(second.email);

    // A different person approves: a fresh approver with a real authenticator.
    const credentials = await createApprover(admin, "Rita Recon Approver");
    const approver = await newPage(browser);
    await signInWith(approver, credentials.email, credentials.password);
    await approver.goto(`/approvals/${detail.writeOffProposalId}`);
    await expect(approver.getByRole("link", { name: "Set up your authenticator" })).toBeVisible();
    await enrolAuthenticator(approver);
    await approver.goto(`/approvals/${detail.writeOffProposalId}`);
    await expect(approver.getByRole("button", { name: /^Approve/ })).toBeEnabled();
    await approver.keyboard.press("a");
    await expect(approver.getByRole("status").filter({ hasText: "Approved and applied to the ledger." })).toBeVisible({ timeout: 15_000 });

    // The break is closed, written off; the ledger shows the entry.
    await operator.goto(`/breaks/${writeOffBreakId}`);
    await expect(operator.getByText(/written_off by/)).toBeVisible();
    await approver.getByRole("link", { name: /^Entry [0-9a-f-]{36}$/ }).click();
    await expect(approver.getByText("ops:recon:write-off:EUR").first()).toBeVisible();
    await expect(approver.getByText(/13\.37 EUR/).first()).toBeVisible();
    for (const p of [operator, operator2, admin, approver]) await p.context().close();
  });
});
