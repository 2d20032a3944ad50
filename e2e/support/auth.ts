import { randomUUID } from "node:crypto";
import { expect, type Page } from "@playwright/test";
import { generateTotpCode } from "../../server/auth/totp";
import { DEMO_SIGN_INS } from "../../server/demo/demo-users";

export type DemoRole = "viewer" | "operator" | "approver" | "admin";

export function demoUser(role: DemoRole) {
  const u = DEMO_SIGN_INS.find((d) => d.roles.length === 1 && d.roles[0] === role);
  if (!u) throw new Error(`no demo user with the single role ${role}`);
  return u;
}

/** Signs in through the real sign-in form with the demo credentials of `role`. */
export async function signIn(page: Page, role: DemoRole): Promise<void> {
  const u = demoUser(role);
  await page.goto("/signin");
  await page.getByLabel("Email").fill(u.email);
  await page.getByLabel("Password").fill(u.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
}

/** Signs in through the real sign-in form with any credentials. */
export async function signInWith(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
}

/**
 * A new approver of its own, created by the signed-in admin on `admin`: specs share one database,
 * so a demo approver's authenticator may already be set up (or its step-up fresh) by another spec.
 */
export async function createApprover(admin: Page, name: string): Promise<{ email: string; password: string }> {
  return createPerson(admin, name, "approver");
}

/** A new person with one role and a password, created by the signed-in admin on `admin`. */
export async function createPerson(admin: Page, name: string, role: DemoRole): Promise<{ email: string; password: string }> {
  const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${randomUUID().slice(0, 8)}@demo.local`;
  const password = `e2e-${randomUUID()}`;
  const created = await admin.request.post("/api/trpc/admin.users.create", {
    headers: { "Content-Type": "application/json", Origin: new URL(admin.url()).origin },
    data: { json: { email, name, roles: [role], password } },
  });
  expect(created.status(), await created.text()).toBe(200);
  return { email, password };
}

/** Sets up an authenticator on the security settings page (the approver has none yet). */
export async function enrolAuthenticator(page: Page): Promise<void> {
  await page.goto("/settings/security");
  await page.getByRole("button", { name: "Set up authenticator" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  await page.getByLabel("Code from the app").fill(generateTotpCode(secret, new Date()));
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("list", { name: "Recovery code list" }).getByRole("listitem")).toHaveCount(10);
}
