import { defineConfig } from "vitest/config";
import path from "node:path";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    // TZ=UTC everywhere so dates render the same on every machine.
    // Tests run their webhook receivers on 127.0.0.1, which the outbound-webhook guard refuses
    // unless listed; the guard's own tests pass an explicit policy.
    // Most tests create transfers that no worker submits (they advance them by hand), which would
    // close admission control after its wait bound; its own test turns it on.
    env: { TZ: "UTC", LOG_LEVEL: "silent", OUTBOX_ALLOWED_NETWORKS: "127.0.0.0/8", TRANSFER_ADMISSION_ENABLED: "false" },
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["**/*.test.ts"], exclude: ["**/*.int.test.ts", "node_modules/**", "e2e/**", ".next/**"] },
      },
      {
        extends: true,
        test: {
          name: "int",
          include: ["**/*.int.test.ts"],
          exclude: ["node_modules/**", ".next/**"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Each file gets its own database cloned from a migrated template; two cores.
          maxWorkers: 2,
        },
      },
    ],
  },
});
