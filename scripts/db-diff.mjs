// Prints the SQL that turns one Prisma schema into another, offline, using Prisma 6.19's CLI and
// its JS engine (Prisma 7's `migrate` needs a native engine that cannot be downloaded here).
//
//   node scripts/db-diff.mjs --from <schema file | "empty" | git:<rev>> [--to prisma/schema.prisma]
//
// DATABASE_URL must point at any reachable PostgreSQL (the adapter connects, nothing is changed).
// Paste the output into prisma/migrations/<timestamp>_<name>/migration.sql and add the rules Prisma
// cannot express (triggers, check constraints) by hand.
//
// Partial indexes (Prisma 7's `partialIndexes` preview: `where: raw("...")`) are unknown to
// Prisma 6: their predicates are taken out before it diffs and put back on its CREATE INDEX
// statements, and an index whose predicate alone changed is dropped and created again. Such an
// index must name itself with `map:`, which is how its statement is found.
import { spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const root = path.resolve(import.meta.dirname, "..");
let work = null;

const PARTIAL = /,\s*where:\s*raw\("((?:[^"\\]|\\.)*)"\)/;

/**
 * The partial indexes a schema declares, by index name → predicate, and the schema without their
 * predicates. Refuses a partial index without `map:` or with the object form of `where`.
 */
export function takePartialIndexes(text) {
  const partials = new Map();
  const lines = text.split("\n").map((line) => {
    if (!/^\s*@@(index|unique)\(/.test(line) || !/\bwhere:/.test(line)) return line;
    const m = PARTIAL.exec(line);
    if (!m) throw new Error(`only where: raw("...") is supported for partial indexes: ${line.trim()}`);
    const name = /\bmap:\s*"([^"]+)"/.exec(line)?.[1];
    if (!name) throw new Error(`a partial index must name itself with map: "...": ${line.trim()}`);
    partials.set(name, m[1].replace(/\\(.)/g, "$1"));
    return line.replace(PARTIAL, "");
  });
  return { text: lines.join("\n"), partials };
}

/** Appends each partial index's predicate to its CREATE INDEX statement in Prisma 6's output. */
export function withPredicates(sql, partials) {
  return sql.replace(/^(CREATE (?:UNIQUE )?INDEX "([^"]+)" ON [^;]*?);$/gm, (stmt, body, name) => (partials.has(name) ? `${body} WHERE (${partials.get(name)});` : stmt));
}

/** Prisma 6 wants a datasource url and no prisma-client generator; strip and inject. */
function toPrisma6(text, name) {
  const out = takePartialIndexes(text).text
    .replace(/generator\s+\w+\s*\{[^}]*\}/g, "")
    .replace(/datasource\s+db\s*\{([^}]*)\}/, (_m, body) => `datasource db {${body}  url = env("DATABASE_URL")\n}`);
  work ??= mkdtempSync(path.join(tmpdir(), "db-diff-"));
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

const isMain = import.meta.main;
/** An index name as a literal inside a regular expression. */
const literal = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const cli = path.join(root, "node_modules/prisma6/build/index.js");
const env = {
  ...process.env,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING: "1",
  PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  CHECKPOINT_DISABLE: "1",
};
function prisma6Diff(from, to) {
  const res = spawnSync(process.execPath, [cli, ...diffArgs(from, to)], {
    cwd: path.join(root, "scripts/prisma6"),
    env,
    encoding: "utf8",
  });
  if (res.status !== 0) {
    process.stderr.write(res.stderr || res.stdout);
    process.exit(res.status ?? 1);
  }
  return res.stdout;
}

if (isMain) {
  const { values } = parseArgs({ options: { from: { type: "string", default: "git:HEAD" }, to: { type: "string", default: "prisma/schema.prisma" } } });
  const toPartials = takePartialIndexes(load(values.to)).partials;
  const fromPartials = values.from === "empty" ? new Map() : takePartialIndexes(load(values.from)).partials;
  let sql = withPredicates(prisma6Diff(values.from, values.to), toPartials);
  // An index whose predicate alone changed (or that became, or stopped being, partial) looks
  // unchanged to Prisma 6: drop it and create it again from the full schema's statement.
  const changed = [...new Set([...toPartials.keys(), ...fromPartials.keys()])].filter((n) => toPartials.get(n) !== fromPartials.get(n) && !new RegExp(`INDEX "${literal(n)}"`).test(sql));
  if (changed.length > 0) {
    const full = withPredicates(prisma6Diff("empty", values.to), toPartials);
    // Prisma 6 also leaves out a new partial index on the columns of an index the table already
    // has (without their predicates the two look alike): that one is only created.
    const before = values.from === "empty" ? "" : prisma6Diff("empty", values.from);
    for (const name of changed) {
      const create = new RegExp(`^CREATE (?:UNIQUE )?INDEX "${literal(name)}" ON [^;]*;$`, "m").exec(full)?.[0];
      if (!new RegExp(`INDEX "${literal(name)}"`).test(before)) sql += `\n-- CreateIndex (partial)\n${create}\n`;
      else sql += `\n-- ${toPartials.has(name) ? "predicate changed" : "no longer partial"}\nDROP INDEX "${name}";\n${create ?? `-- (index ${name} is gone from the schema)`}\n`;
    }
  }
  process.stdout.write(sql);
}
