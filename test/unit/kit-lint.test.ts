/**
 * Every table and button of the console is the kit's: `npm run lint` (eslint.config.js,
 * no-restricted-syntax) refuses a hand-written `<table>` or `<button>` outside components/kit/.
 * Proved here by linting probe sources through ESLint's own API with the project's configuration.
 */
import { describe, expect, it } from "vitest";
import { ESLint } from "eslint";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const eslint = new ESLint({ cwd: root });

async function messages(filePath: string, code: string): Promise<{ ruleId: string; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return result!.messages.map((m) => ({ ruleId: m.ruleId ?? "fatal", message: m.message }));
}

const tableProbe = `export function Probe() {\n  return (\n    <table>\n      <tbody>\n        <tr>\n          <td>1</td>\n        </tr>\n      </tbody>\n    </table>\n  );\n}\n`;
const buttonProbe = `export function Probe() {\n  return <button type="button">Go</button>;\n}\n`;

describe("tables and buttons come from the kit", () => {
  it.each([
    ["a component", "components/recon/probe.tsx"],
    ["a page", "app/(console)/slos/report/probe.tsx"],
  ])("lint refuses a <table> in %s", async (_label, filePath) => {
    expect(await messages(filePath, tableProbe)).toEqual([{ ruleId: "no-restricted-syntax", message: expect.stringContaining("DataTable") }]);
  }, 60_000);

  it("lint refuses a <button> outside the kit", async () => {
    expect(await messages("components/transfers/probe.tsx", buttonProbe)).toEqual([{ ruleId: "no-restricted-syntax", message: expect.stringContaining("kit's Button") }]);
  }, 60_000);

  it("lint accepts a <table> and a <button> inside the kit", async () => {
    expect(await messages("components/kit/probe.tsx", tableProbe)).toEqual([]);
    expect(await messages("components/kit/probe.tsx", buttonProbe)).toEqual([]);
  }, 60_000);
});
