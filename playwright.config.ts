/**
 * End-to-end tests in a real Chromium against a production build (`npm run build` first).
 * scripts/e2e-server.ts starts a private database, seeds the demo users, runs a local OpenID
 * Connect provider and `next start`. Traces are kept on failure.
 */
import { defineConfig, devices, chromium } from "@playwright/test";
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

/**
 * The console's and the OpenID Connect provider's ports: 3100 and 3901 unless E2E_PORT / OIDC_PORT
 * say otherwise (so a second run on the same machine does not collide with the first).
 */
function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`${name}=${raw} is not a TCP port`);
  return port;
}

export const E2E_PORT = portFromEnv("E2E_PORT", 3100);
export const OIDC_PORT = portFromEnv("OIDC_PORT", 3901);

/** Playwright's own Chromium when installed, else a system Chromium (Debian's `chromium`). */
function chromiumExecutable(): string | undefined {
  try {
    const own = chromium.executablePath();
    if (own && existsSync(own)) return undefined;
  } catch {
    // No bundled browser registered; look on PATH below.
  }
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    try {
      const found = execFileSync("which", [name], { encoding: "utf8" }).trim();
      if (found) return found;
    } catch {
      // Not on PATH; try the next name.
    }
  }
  return undefined;
}

const executablePath = chromiumExecutable();

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL: `http://localhost:${E2E_PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    timezoneId: "UTC",
    locale: "en-GB",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath,
          args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        },
      },
    },
  ],
  webServer: {
    command: "node --import tsx scripts/e2e-server.ts",
    url: `http://127.0.0.1:${E2E_PORT}/api/ready`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: { E2E_PORT: String(E2E_PORT), OIDC_PORT: String(OIDC_PORT), TZ: "UTC" },
  },
});
