/**
 * Single sign-on through the local OpenID Connect provider (scripts/oidc-dev-provider.ts, started
 * by scripts/e2e-server.ts). Its development login form accepts any login and password; the console
 * admits only an existing, active user with that email.
 */
import { expect, test, type Page } from "@playwright/test";

const SSO_BUTTON = /sign in with demo sso/i;

/** Fills the provider's own login form and consents when it asks; done when back on the console (`consoleUrl`). */
async function signInAtProvider(page: Page, login: string, consoleUrl: string | undefined): Promise<void> {
  const home = new URL(consoleUrl ?? "http://localhost");
  await page.getByPlaceholder("Enter any login").fill(login);
  await page.getByPlaceholder("and password").fill("any-password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  // The provider asks for consent on a first grant; a later sign-in may skip it.
  const consent = page.getByRole("button", { name: "Continue" });
  await Promise.race([
    consent.waitFor({ state: "visible" }).then(() => consent.click()),
    page.waitForURL((url) => url.port === home.port || url.hostname === home.hostname),
  ]);
}

test.describe("OIDC sign-in", () => {
  test("an existing operator signs in with SSO and lands on the console as themselves", async ({ page, baseURL }) => {
    await page.goto("/signin");
    await page.getByRole("button", { name: SSO_BUTTON }).click();
    await signInAtProvider(page, "oidc.operator@demo.local", baseURL);

    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav).toBeVisible();
    await expect(page.getByText("oidc.operator@demo.local")).toBeVisible();
    await expect(page.getByText("operator", { exact: true })).toBeVisible();
    await expect(nav.getByRole("link", { name: "Admin" })).toHaveCount(0);
    expect(new URL(page.url()).pathname).not.toMatch(/^\/signin/);
  });

  test("an email the console does not know is refused", async ({ page, baseURL }) => {
    await page.goto("/signin");
    await page.getByRole("button", { name: SSO_BUTTON }).click();
    await signInAtProvider(page, "stranger@demo.local", baseURL);

    await expect(page).toHaveURL(/\/signin\?.*error=AccessDenied/);
    // Next.js renders its own (empty) route announcer with role="alert" too: match ours by its text.
    await expect(page.getByRole("alert").filter({ hasText: /not allowed to sign in/i })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);
    await page.goto("/transfers");
    await expect(page).toHaveURL(/\/signin/);
  });
});
