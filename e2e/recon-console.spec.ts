/**
 * The Reconciliation page's actions in a real browser: an admin adds a source through its dialog
 * (a bad IBAN is refused under the IBAN field), an operator imports a statement for it, starts a
 * run by hand, closes the period and proposes reopening it, and proposes correcting a break of the
 * next day to suspense from its break page; a viewer sees none of the buttons.
 * The source is new and its period lies in 2020, so nothing another spec posts is affected.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { signIn } from "./support/auth";
import { writeCamt053 } from "../server/partners/camt053/writer";

const DAY = "2020-01-15";

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function query<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  const res = await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  expect(res.status()).toBe(200);
  return ((await res.json()) as { result: { data: { json: T } } }).result.data.json;
}

/** A valid-looking German IBAN no source has yet. */
function freshIban(): string {
  const digits = Array.from({ length: 18 }, () => Math.floor(Math.random() * 10)).join("");
  return `DE${String(10 + Math.floor(Math.random() * 89))}${digits}`;
}

test.describe("reconciliation console actions", () => {
  test("add a source, start a run by hand, close the period and propose reopening it; propose a correction to suspense", async ({ browser }) => {
    const tag = randomUUID().slice(0, 8);
    const name = `E2E bank ${tag}`;
    const iban = freshIban();

    // The viewer reads the page but gets no action.
    const viewer = await newPage(browser);
    await signIn(viewer, "viewer");
    await viewer.goto("/reconciliation");
    await expect(viewer.getByRole("heading", { name: "Reconciliation", level: 1 })).toBeVisible();
    for (const label of ["Start a run", "Close a period", "Add a source"]) await expect(viewer.getByRole("button", { name: label })).toHaveCount(0);
    await expect(viewer.getByRole("button", { name: /^Edit source/ })).toHaveCount(0);

    // An admin adds the source on the demo bank's ledger account; a bad IBAN is refused by field.
    const admin = await newPage(browser);
    await signIn(admin, "admin");
    const bank = (await query<{ name: string; ledgerAccountCode: string }[]>(admin, "recon.sources.list", {})).find((s) => s.name === "Sandbox bank EUR")!;
    expect(bank).toBeDefined();
    await admin.goto("/reconciliation");
    await admin.getByRole("button", { name: "Add a source" }).click();
    const dialog = admin.getByRole("dialog", { name: "Add a reconciliation source" });
    await dialog.getByLabel("Name", { exact: true }).fill(name);
    await dialog.getByLabel("Ledger account (code)").fill(bank.ledgerAccountCode);
    await dialog.getByLabel("IBAN its statements name").fill("12345");
    await dialog.getByRole("button", { name: "Add source" }).click();
    await expect(dialog.getByLabel("IBAN its statements name")).toHaveAttribute("aria-invalid", "true");
    await expect(dialog.getByRole("alert")).toContainText('"12345" is not an IBAN');
    await dialog.getByLabel("IBAN its statements name").fill(iban);
    await dialog.getByRole("button", { name: "Add source" }).click();
    await expect(dialog).toHaveCount(0);
    await expect(admin.getByRole("cell", { name, exact: true })).toBeVisible();
    await expect(admin.getByRole("button", { name: `Edit source ${name}` })).toBeVisible();

    // An operator imports an (empty) statement of that day for it.
    const operator = await newPage(browser);
    await signIn(operator, "operator");
    const xml = writeCamt053({
      version: "001.08",
      messageId: `E2E-CLOSE-${tag}`,
      createdAt: `${DAY}T23:00:00Z`,
      statements: [
        {
          statementId: `E2E-CLOSE-${tag}`,
          electronicSequenceNumber: "1",
          accountIban: iban,
          accountCurrency: "EUR",
          openingBalance: { amountMinor: 0n, currency: "EUR", direction: "credit", date: DAY },
          closingBalance: { amountMinor: 0n, currency: "EUR", direction: "credit", date: DAY },
          entries: [],
        },
      ],
    });
    const file = path.join(tmpdir(), `e2e-close-${tag}.camt053.xml`);
    writeFileSync(file, xml);
    await operator.goto("/reconciliation/import");
    await operator.getByLabel(/^File/).setInputFiles(file);
    await operator.getByRole("button", { name: "Import", exact: true }).click();
    await expect(operator.getByRole("status").filter({ hasText: /Imported 0 lines/ })).toBeVisible({ timeout: 30_000 });

    // Start a run by hand: the end before the start is refused under its field, then it runs.
    await operator.goto("/reconciliation");
    await operator.getByRole("button", { name: "Start a run" }).click();
    const run = operator.getByRole("dialog", { name: "Start a reconciliation run" });
    await run.getByLabel("Source").selectOption({ label: name });
    await run.getByLabel("From (UTC date)").fill(DAY);
    await run.getByLabel("To (UTC date)").fill("2020-01-14");
    await run.getByRole("button", { name: "Start run" }).click();
    await expect(run.getByRole("alert")).toHaveText("the end is before the start");
    await run.getByLabel("To (UTC date)").fill(DAY);
    await run.getByRole("button", { name: "Start run" }).click();
    await expect(operator.getByText(/Run finished: 0 automatic matches, 0 breaks opened/)).toBeVisible({ timeout: 15_000 });
    const runs = operator.getByRole("table", { name: "Latest runs, newest first" });
    await expect(runs.getByRole("row").filter({ hasText: name }).filter({ hasText: "manual" })).toHaveCount(1);

    // Close the period; then propose reopening it.
    await operator.getByRole("button", { name: "Close a period" }).click();
    const close = operator.getByRole("dialog", { name: "Close a period" });
    await close.getByLabel("Source").selectOption({ label: name });
    await close.getByLabel("From (UTC date)").fill(DAY);
    await close.getByLabel("To (UTC date)").fill(DAY);
    await close.getByLabel("Reason").fill("e2e: January 15th reconciled");
    await close.getByRole("button", { name: "Close period" }).click();
    await expect(operator.getByText(`Closed ${DAY} to ${DAY}`)).toBeVisible({ timeout: 15_000 });
    const label = `${name} ${DAY} to ${DAY}`;
    await expect(operator.getByText(`(${name}) — closed by`)).toBeVisible();
    await operator.getByRole("button", { name: `Propose reopening ${label}` }).click();
    const reopen = operator.getByRole("dialog", { name: `Propose reopening ${label}` });
    await reopen.getByLabel("Reason").fill("e2e: a late correction must land in the period");
    await reopen.getByRole("button", { name: "Propose reopening" }).click();
    await expect(operator.getByText(/Reopening proposed \(proposal [0-9a-f]{8}\)/)).toBeVisible({ timeout: 15_000 });
    const periods = await query<{ sourceId: string; status: string; periodFrom: string }[]>(operator, "recon.periods.list", {});
    expect(periods.filter((p) => p.periodFrom === DAY && p.status === "closed").length).toBeGreaterThanOrEqual(1);

    // Closing it again is refused with the server's reason.
    await operator.getByRole("button", { name: "Close a period" }).click();
    await close.getByLabel("Source").selectOption({ label: name });
    await close.getByLabel("From (UTC date)").fill(DAY);
    await close.getByLabel("To (UTC date)").fill(DAY);
    await close.getByLabel("Reason").fill("e2e: twice");
    await close.getByRole("button", { name: "Close period" }).click();
    await expect(close.getByRole("alert")).toContainText("is already closed for");

    // A line of the next day nobody explains: its break page offers a write-off and a correction
    // to suspense; proposing the correction hides both until an approver decides.
    const next = "2020-01-16";
    const xml2 = writeCamt053({
      version: "001.08",
      messageId: `E2E-SUSP-${tag}`,
      createdAt: `${next}T23:00:00Z`,
      statements: [
        {
          statementId: `E2E-SUSP-${tag}`,
          electronicSequenceNumber: "2",
          accountIban: iban,
          accountCurrency: "EUR",
          openingBalance: { amountMinor: 0n, currency: "EUR", direction: "credit", date: next },
          closingBalance: { amountMinor: 7_77n, currency: "EUR", direction: "credit", date: next },
          entries: [
            {
              amountMinor: 7_77n, currency: "EUR", direction: "credit", status: "BOOK", isReversal: false, bookingDate: next, valueDate: next,
              accountServicerReference: null, endToEndId: `SUSP-${tag}`, remittanceInfo: null, counterpartyName: null, counterpartyAccount: null,
              bankTransactionCode: "PMNT/RCDT/ESCT", additionalInfo: null, details: [],
            },
          ],
        },
      ],
    });
    const file2 = path.join(tmpdir(), `e2e-susp-${tag}.camt053.xml`);
    writeFileSync(file2, xml2);
    await operator.goto("/reconciliation/import");
    await operator.getByLabel(/^File/).setInputFiles(file2);
    await operator.getByRole("button", { name: "Import", exact: true }).click();
    await expect(operator.getByRole("status").filter({ hasText: /Imported 1 line/ })).toBeVisible({ timeout: 30_000 });
    const created = (await query<{ id: string; name: string }[]>(operator, "recon.sources.list", {})).find((s) => s.name === name)!;
    await operator.goto(`/breaks?source=${created.id}&type=missing_in_ledger`);
    await operator.getByRole("row").filter({ hasText: `SUSP-${tag}` }).getByRole("link", { name: "Missing in ledger" }).click();
    await expect(operator.getByRole("button", { name: "Propose write-off" })).toBeVisible();
    await operator.getByRole("button", { name: "Propose correction to suspense" }).click();
    const suspense = operator.getByRole("dialog", { name: "Propose a correction to suspense" });
    await expect(suspense).toContainText("ops:recon:suspense:EUR");
    await suspense.getByLabel("Reason").fill("e2e: unidentified credit, parked until treasury finds the payer");
    await suspense.getByRole("button", { name: "Propose correction" }).click();
    await expect(operator.getByText(/Correction to suspense proposed \(proposal [0-9a-f]{8}\)/)).toBeVisible({ timeout: 15_000 });
    await expect(operator.getByText("Suspense correction proposal")).toBeVisible();
    await expect(operator.getByRole("button", { name: "Propose write-off" })).toHaveCount(0);
    await expect(operator.getByRole("button", { name: "Propose correction to suspense" })).toHaveCount(0);
    for (const p of [viewer, admin, operator]) await p.context().close();
  });
});
