/**
 * The SLO pages in a real Chromium against the demo world: the overview at / shows its state, the
 * dashboard draws its charts with the demo incident as a band and the outage as a breach, and
 * selecting the outage's bad interval lists its transfers with their count and exact total,
 * matching the API's figures; the overview's reconciliation, approvals and incidents cards show the
 * API's figures; objectives are read-only for an operator, and an admin creates and changes one in
 * a dialog that shows the server's refusal on its field; a settled transfer's page shows the
 * statement line that matched it and a break names its transfer with its correlation id.
 */
import { expect, test } from "@playwright/test";
import { signIn } from "./support/auth";
import { formatMoneyDisplay } from "../server/money/amount";
import { demoIncidentWindow, DEMO_INCIDENT_TITLE, DEMO_OUTAGE_TRANSFERS } from "../server/demo/seed-slo";

test("the overview answers 'is money moving?' from the demo world", async ({ page }) => {
  await signIn(page, "viewer");
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByTestId("overview-headline")).toContainText(/Money is (moving|not moving)/);
  // The demo world has stuck transfers and the objectives the worker (or the seed) evaluated.
  await expect(page.getByTestId("overview-stuck")).not.toHaveText("0");
  const objectives = page.getByRole("table", { name: /Objectives as the worker evaluated them last/ });
  const success = objectives.getByRole("row").filter({ hasText: "Transfers succeed" });
  await expect(success).toBeVisible();
  // The outage spent more than the whole budget of the success objective.
  await expect(success.getByRole("cell").last()).toContainText("-");
  await expect(page.getByRole("link", { name: "Stuck queue" })).toHaveAttribute("href", "/transfers/stuck");
  await expect(page.getByRole("table", { name: /Partners and rails over the last hour/ })).toBeVisible();
});

test("the dashboard draws the demo incident and the bad interval lists its transfers and total", async ({ page }) => {
  await signIn(page, "operator");
  await page.goto("/slos?slo=transfer-success&range=7d");
  await expect(page.getByRole("heading", { level: 2, name: /Transfers succeed/ })).toBeVisible();
  const sli = page.getByRole("figure", { name: /Transfers succeed: good events against the target/ });
  await expect(sli.locator("svg.recharts-surface[role='application']")).toBeVisible();
  // The target as a reference line, the incident as an amber band, breaches as red bands.
  await expect(sli.locator(".recharts-reference-line")).toHaveCount(1);
  await expect(sli.locator('.recharts-reference-area path[fill="#f59e0b"]')).toHaveCount(1);
  await expect(sli.locator('.recharts-reference-area path[fill="#dc2626"]').first()).toBeVisible();
  for (const name of ["Error budget burn-down", "Burn rates over the alert windows", "Stuck transfers"]) {
    await expect(page.getByRole("figure", { name }).locator("svg.recharts-surface[role='application']")).toBeVisible();
  }
  await expect(page.getByRole("figure", { name: /Latency to settle/ }).locator("svg.recharts-surface[role='application']")).toBeVisible();

  // Select the outage's bad interval: the one holding the start of the demo outage.
  const { outageFrom } = demoIncidentWindow(new Date());
  const intervals = page.getByRole("region", { name: "Bad intervals in the range" }).getByRole("link");
  const texts = await intervals.allTextContents();
  const index = texts.findIndex((text) => {
    const [from, to] = text.match(/\d{4}-\d\d-\d\dT[\d:.]+Z/g) ?? [];
    return from !== undefined && to !== undefined && new Date(from) <= outageFrom && outageFrom < new Date(to);
  });
  expect(index, texts.join("\n")).toBeGreaterThanOrEqual(0);
  await intervals.nth(index).click();
  await expect(page).toHaveURL(/selFrom=/);
  const radius = page.getByRole("region", { name: /Blast radius/ });
  await expect(radius).toBeVisible();

  // The figures on the page are the API's, exactly.
  const url = new URL(page.url());
  const input = { from: url.searchParams.get("selFrom"), to: url.searchParams.get("selTo"), partner: null, rail: null, lateAfterMs: 30_000, hit: "failed", limit: 50 };
  const res = await page.request.get(`/api/trpc/slo.blastRadius?input=${encodeURIComponent(JSON.stringify({ json: input, meta: { values: { from: ["Date"], to: ["Date"] } } }))}`);
  expect(res.ok()).toBe(true);
  const api = (await res.json()).result.data.json as { count: number; byCurrency: { currency: string; count: number; totalMinor: string }[]; items: unknown[] };
  expect(api.count).toBeGreaterThanOrEqual(DEMO_OUTAGE_TRANSFERS);
  await expect(radius.getByTestId("blast-count")).toHaveText(String(api.count));
  for (const c of api.byCurrency) await expect(radius.getByTestId(`blast-total-${c.currency}`)).toHaveText(formatMoneyDisplay(BigInt(c.totalMinor), c.currency));
  const table = radius.getByRole("table", { name: "Transfers hit in the selected interval" });
  await expect(table.getByRole("row")).toHaveCount(Math.min(api.count, 50) + 1);
  // Bulk actions are offered on the selection, and an incident can be opened from the interval.
  await expect(radius.getByRole("button", { name: "Open incident from this interval" })).toBeVisible();

  // The demo incident is listed with its linked transfers.
  await page.goto("/slos/incidents");
  await page.getByRole("link", { name: DEMO_INCIDENT_TITLE }).click();
  await expect(page.getByRole("table", { name: /Transfers hit \(\d+ linked\)/ })).toBeVisible();
});

test("the overview's cards show the demo world's breaks and unreconciled amounts, approvals waiting and open incidents, each linking to its queue", async ({ page }) => {
  await signIn(page, "viewer");
  const res = await page.request.get("/api/trpc/slo.overview");
  expect(res.ok()).toBe(true);
  const api = (await res.json()).result.data.json as {
    approvalsWaiting: number;
    openIncidents: { title: string }[];
    reconciliation: { openBreaks: number; unreconciled: { currency: string; amountMinor: string }[] };
  };
  // The demo world's statements leave breaks open (its statement faults); its incident is resolved.
  expect(api.reconciliation.openBreaks).toBeGreaterThan(0);
  expect(api.reconciliation.unreconciled.length).toBeGreaterThan(0);
  expect(api.openIncidents).toEqual([]);

  await page.goto("/");
  const breaks = page.getByTestId("overview-breaks");
  await expect(breaks).toHaveText(String(api.reconciliation.openBreaks));
  for (const u of api.reconciliation.unreconciled) await expect(breaks.locator("..")).toContainText(formatMoneyDisplay(BigInt(u.amountMinor), u.currency));
  await expect(page.getByTestId("overview-approvals")).toHaveText(String(api.approvalsWaiting));
  await expect(page.getByTestId("overview-incidents")).toHaveText("0");
  await expect(page.getByText("No incident is open.")).toBeVisible();
  // Each card links to its queue (the main navigation has links of the same names).
  const main = page.getByRole("main");
  await expect(main.getByRole("link", { name: "Breaks", exact: true })).toHaveAttribute("href", "/breaks");
  await expect(main.getByRole("link", { name: "Approvals", exact: true })).toHaveAttribute("href", "/approvals");
  await expect(main.getByRole("link", { name: "Incidents", exact: true })).toHaveAttribute("href", "/slos/incidents");
});

test("objectives are read-only for an operator", async ({ page }) => {
  await signIn(page, "operator");
  await page.goto("/slos/objectives");
  const table = page.getByRole("table", { name: "Objectives, enabled first" });
  await expect(table.getByRole("row").filter({ hasText: "transfer-success" })).toBeVisible();
  await expect(page.getByRole("button", { name: "New objective" })).toHaveCount(0);
  await expect(table.getByRole("button")).toHaveCount(0);
});

test("an admin creates and changes an objective in the console; a refusal shows by its field", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/slos/objectives");
  const key = `e2e-${Date.now().toString(36)}`;
  const name = `Webhooks applied within a minute (${key})`;
  await page.getByRole("button", { name: "New objective" }).click();
  const create = page.getByRole("dialog", { name: "New objective" });
  await create.getByLabel("Key", { exact: true }).fill(key);
  await create.getByLabel("Indicator", { exact: true }).selectOption({ label: "Webhook processing lag" });
  await create.getByLabel("Name", { exact: true }).fill(name);
  await create.getByLabel("Target (%)").fill("99.9");
  await create.getByLabel("Window (days)").fill("120");
  await create.getByLabel("Threshold (milliseconds)").fill("60000");
  await create.getByLabel("Reason", { exact: true }).fill("on-call asked for a looser webhook objective");
  await create.getByRole("button", { name: "Create objective" }).click();
  // The server refuses the window (1 to 90 days): the dialog stays open, the message is on that field.
  const windowField = create.getByLabel("Window (days)");
  await expect(windowField).toHaveAttribute("aria-invalid", "true");
  await expect(windowField).toHaveAccessibleDescription(/windowDays must be a whole number of days from 1 to 90/);
  await expect(create.getByLabel("Target (%)")).not.toHaveAttribute("aria-invalid", "true");
  await windowField.fill("28");
  await create.getByRole("button", { name: "Create objective" }).click();
  await expect(create).toBeHidden();
  const row = page.getByRole("row").filter({ hasText: key });
  await expect(row).toContainText("99.90%");
  await expect(row).toContainText("28 d");
  await expect(row).toContainText("enabled");

  // A change against the version it was based on, with a reason.
  await row.getByRole("button", { name: `Edit ${name}` }).click();
  const edit = page.getByRole("dialog", { name: `Change ${name}` });
  await edit.getByLabel("Target (%)").fill("99.5");
  await edit.getByLabel(/^Enabled/).uncheck();
  await edit.getByLabel("Reason", { exact: true }).fill("too noisy; disabled until the partner fixes its retries");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText("99.50%");
  await expect(row).toContainText("disabled");
  await expect(row.getByRole("cell").nth(7)).toHaveText("2");
});

test("a settled transfer's page shows the statement line that matched it, and a break names its transfer with its correlation id", async ({ page }) => {
  await signIn(page, "operator");
  const query = async <T>(procedure: string, input: unknown): Promise<T> => {
    const res = await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
    expect(res.status(), procedure).toBe(200);
    return ((await res.json()) as { result: { data: { json: T } } }).result.data.json;
  };
  type Match = { matchId: string; sourceName: string; lines: { reference: string | null }[] };
  // The demo world's settlement files match its settled transfers: find one through the API.
  const settled = await query<{ items: { id: string }[] }>("transfers.list", { states: ["settled"], limit: 100 });
  let found: { transferId: string; matches: Match[] } | null = null;
  for (const t of settled.items) {
    const matches = await query<Match[]>("recon.matches.ofTransfer", { transferId: t.id });
    if (matches.length > 0) {
      found = { transferId: t.id, matches };
      break;
    }
  }
  expect(found, "a settled demo transfer with a reconciliation match").not.toBeNull();
  await page.goto(`/transfers/${found!.transferId}`);
  const table = page.getByRole("table", { name: /Statement lines matched to this transfer's ledger entries/ });
  await expect(table.getByRole("row")).toHaveCount(found!.matches.length + 1);
  const first = found!.matches[0]!;
  await expect(table).toContainText(`#${first.matchId}`);
  await expect(table).toContainText(first.sourceName);
  if (first.lines[0]?.reference) await expect(table).toContainText(first.lines[0].reference);

  // A break whose posting or match concerns a transfer names it, with its correlation id.
  const breaks = await query<{ items: { id: string }[] }>("recon.breaks.list", { limit: 200 });
  let target: { breakId: string; transfer: { transferId: string; reference: string; traceId: string | null } } | null = null;
  for (const b of breaks.items) {
    const detail = await query<{ transfers: { transferId: string; reference: string; traceId: string | null }[] }>("recon.breaks.get", { breakId: b.id });
    if (detail.transfers.length > 0) {
      target = { breakId: b.id, transfer: detail.transfers[0]! };
      break;
    }
  }
  expect(target, "a demo break that concerns a transfer").not.toBeNull();
  await page.goto(`/breaks/${target!.breakId}`);
  const item = page.getByRole("listitem").filter({ has: page.getByRole("link", { name: target!.transfer.reference || target!.transfer.transferId.slice(0, 8), exact: true }) });
  await expect(item.getByRole("link").first()).toHaveAttribute("href", `/transfers/${target!.transfer.transferId}`);
  await expect(item).toContainText(target!.transfer.traceId ?? "created before correlation ids were recorded");
});
