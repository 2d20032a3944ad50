// Prints the SQL that turns one Prisma schema into another, offline, using Prisma 6.19's CLI and
// its JS engine (Prisma 7's `migrate` needs a native engine that cannot be downloaded here).
//
//   node scripts/db-diff.mjs --from <schema file | "empty" | git:<rev>> [--to prisma/schema.prisma]
//
// DATABASE_URL must point at any reachable PostgreSQL (the adapter connects, nothing is changed).
// Paste the output into prisma/migrations/<timestamp>_<name>/migration.sql and add the rules Prisma
// cannot express (triggers, check constraints) by hand.
import { spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { from: { type: "string", default: "git:HEAD" }, to: { type: "string", default: "prisma/schema.prisma" } } });
const root = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "db-diff-"));

/** Prisma 6 wants a datasource url and no prisma-client generator; strip and inject. */
function toPrisma6(text, name) {
  const out = text
    .replace(/generator\s+\w+\s*\{[^}]*\}/g, "")
    .replace(/datasource\s+db\s*\{([^}]*)\}/, (_m, body) => `datasource db {${body}  url = env("DATABASE_URL")\n}`);
  const file = path.join(work, name);
  writeFileSync(file, out);
  return file;
}

function load(spec) {
  if (spec.startsWith("git:")) return execFileSync("git", ["show", `${spec.slice(4)}:prisma/schema.prisma`], { cwd: root, encoding: "utf8" });
  return readFileSync(path.resolve(spec), "utf8");
}

export function diffArgs(from, to) {
  const args = ["migrate", "diff"];
  if (from === "empty") args.push("--from-empty");
  else args.push("--from-schema-datamodel", toPrisma6(load(from), "from.prisma"));
  args.push("--to-schema-datamodel", toPrisma6(load(to), "to.prisma"), "--script");
  return args;
}

const cli = path.join(root, "node_modules/prisma6/build/index.js");
const env = {
  ...process.env,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING: "1",
  PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  CHECKPOINT_DISABLE: "1",
};
const res = spawnSync(process.execPath, [cli, ...diffArgs(values.from, values.to)], {
  cwd: path.join(root, "scripts/prisma6"),
  env,
  encoding: "utf8",
});
if (res.status !== 0) {
  process.stderr.write(res.stderr || res.stdout);
  process.exit(res.status ?? 1);
}
process.stdout.write(res.stdout);
