/**
 * Secrets and server code never reach the browser: the client bundle of the production build
 * contains no server-only module, no credential-handling code and no environment secret names.
 */
import { expect, test } from "@playwright/test";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (p.endsWith(".js")) out.push(p);
  }
  return out;
}

test("the client bundle carries no secrets or server-only code", async ({ page }) => {
  const files = await listFiles(path.resolve(".next/static"));
  expect(files.length).toBeGreaterThan(0);
  const forbidden = ["NEXTAUTH_SECRET", "DATABASE_URL", "AUTH_OIDC_CLIENT_SECRET", "secret_hash", "password_hash", "@node-rs/argon2", "pg-boss", "audit_lanes", "BEGIN ISOLATION LEVEL"];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    for (const word of forbidden) expect(text.includes(word), `${word} in ${path.basename(file)}`).toBe(false);
  }
  // The sign-in page as served carries no secret either.
  await page.goto("/signin");
  const html = await page.content();
  for (const word of forbidden) expect(html.includes(word)).toBe(false);
});
