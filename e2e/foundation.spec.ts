import { expect, test } from "@playwright/test";
import { demoUser, signIn } from "./support/auth";

test.describe("sign-in and access", () => {
  test("an operator signs in, sees the shell with their roles, and signs out", async ({ page }) => {
    await signIn(page, "operator");
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const section of ["Transfers", "Breaks", "Approvals", "Accounts", "Pricing", "SLOs", "Audit"]) {
      await expect(nav.getByRole("link", { name: section })).toBeVisible();
    }
    await expect(nav.getByRole("link", { name: "Admin" })).toHaveCount(0);
    await expect(page.getByText(demoUser("operator").email)).toBeVisible();
    await expect(page.getByText("operator", { exact: true })).toBeVisible();

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin/);
    await page.goto("/transfers");
    await expect(page).toHaveURL(/\/signin/);
  });

  test("a wrong password is refused with a plain message", async ({ page }) => {
    await page.goto("/signin");
    await page.getByLabel("Email").fill(demoUser("viewer").email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByText(/wrong email or password/i)).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);
  });

  test("a viewer cannot reach Admin, by link or by address", async ({ page }) => {
    await signIn(page, "viewer");
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
    await page.goto("/admin");
    await expect(page).toHaveURL(/\/forbidden/);
    await expect(page.getByText(/don.t have access/i)).toBeVisible();
  });

  test("signed-out visitors are sent to sign in", async ({ page }) => {
    for (const path of ["/transfers", "/audit", "/admin"]) {
      await page.goto(path);
      await expect(page).toHaveURL(/\/signin/);
    }
  });
});

test.describe("service keys", () => {
  test("an admin creates a key, the key works, and stops working at once when revoked", async ({ page, request }) => {
    await signIn(page, "admin");
    await page.goto("/admin");
    const name = `e2e-key-${Date.now()}`;
    await page.getByRole("button", { name: "Create service key" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByRole("checkbox", { name: "ledger:read" }).check();
    await dialog.getByRole("button", { name: /^Create/ }).click();
    const secretBox = page.getByRole("dialog").getByTestId("service-key-secret");
    await expect(secretBox).toBeVisible();
    const secret = (await secretBox.textContent())?.trim() ?? "";
    expect(secret).toMatch(/^lk_/);
    await page.getByRole("dialog").getByRole("button", { name: /done|close/i }).click();

    const whoami = () => request.get("/api/trpc/session.whoami", { headers: { authorization: `Bearer ${secret}` } });
    const ok = await whoami();
    expect(ok.status()).toBe(200);
    expect(JSON.stringify(await ok.json())).toContain(name);

    const row = page.getByRole("row").filter({ hasText: name });
    await row.getByRole("button", { name: "Revoke" }).click();
    const confirm = page.getByRole("dialog");
    await confirm.getByLabel(/reason/i).fill("e2e: rotating the key");
    await confirm.getByRole("button", { name: "Revoke" }).click();
    await expect(row.getByText(/revoked/i)).toBeVisible();

    expect((await whoami()).status()).toBe(401);
  });

  test("an unknown key gets 401 and nothing else", async ({ request }) => {
    const r = await request.get("/api/trpc/session.whoami", { headers: { authorization: "Bearer lk_nope_invalid" } });
    expect(r.status()).toBe(401);
  });
});
