// `npm run statement:import` runs with the V8 limits the memory test proves the 256 MB bound under.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IMPORT_PROCESS_NODE_FLAGS } from "../../scripts/lib/import-process";

const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as { scripts: Record<string, string> };

describe("statement:import's memory limits", () => {
  it("are the ones the import memory test runs under", () => {
    expect(pkg.scripts["statement:import"]).toBe(`node ${IMPORT_PROCESS_NODE_FLAGS.join(" ")} --import tsx scripts/statement-import.ts`);
  });
});
