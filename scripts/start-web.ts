// `npm run start:web`: the web process alone (production, after `npm run build`), against DATABASE_URL.
import { spawn } from "node:child_process";
import path from "node:path";
import { env } from "../server/env";

let config;
try {
  config = env();
  if (!config.DATABASE_URL) throw new Error("DATABASE_URL is required");
} catch (err) {
  process.stderr.write(`[web] error: ${(err as Error).message}\n`);
  process.exit(1);
}
const root = path.resolve(import.meta.dirname, "..");
const child = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", String(config.PORT)], { cwd: root, stdio: "inherit" });
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => child.kill(s));
child.on("exit", (code) => process.exit(code ?? 1));
