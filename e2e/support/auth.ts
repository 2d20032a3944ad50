import { expect, type Page } from "@playwright/test";
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
