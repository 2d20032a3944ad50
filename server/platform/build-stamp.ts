/**
 * Decides whether the production build in .next is current: a SHA-256 over every source file that
 * goes into it, stored beside the build. `npm start` rebuilds only when the stamp differs.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

const INPUTS = ["app", "components", "server", "prisma/schema.prisma", "instrumentation.ts", "proxy.ts", "next.config.js", "postcss.config.mjs", "tsconfig.json", "package-lock.json", "package.json"];
const SKIP = new Set(["node_modules", ".next", "generated", ".data"]);

async function collect(root: string, rel: string, out: string[]): Promise<void> {
  const full = path.join(root, rel);
  let s;
  try {
    s = await stat(full);
  } catch {
    return;
  }
  if (s.isFile()) {
    out.push(rel);
    return;
  }
  for (const e of await readdir(full, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    await collect(root, path.join(rel, e.name), out);
  }
}

export async function computeSourceStamp(root: string): Promise<string> {
  const files: string[] = [];
  for (const i of INPUTS) await collect(root, i, files);
  files.sort();
  const h = createHash("sha256");
  for (const f of files) {
    h.update(f).update("\0").update(await readFile(path.join(root, f))).update("\0");
  }
  return h.digest("hex");
}

export const STAMP_FILE = ".next/source-stamp";

export async function isBuildCurrent(root: string): Promise<boolean> {
  try {
    await stat(path.join(root, ".next/BUILD_ID"));
    const stamp = (await readFile(path.join(root, STAMP_FILE), "utf8")).trim();
    return stamp === (await computeSourceStamp(root));
  } catch {
    return false;
  }
}
