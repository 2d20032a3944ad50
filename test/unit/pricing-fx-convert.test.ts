// `npm run fx:convert` (server/pricing/fx-convert-command.ts, scripts/fx-convert.ts): the JSON the
// issue describes from the real history with no database; typed errors exit 1; usage errors exit 2.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fxConvertCommand } from "../../server/pricing/fx-convert-command";
import { ECB_HISTORY_CSV } from "../support/fixtures";

const RATES = ECB_HISTORY_CSV;
const read = (p: string) => readFileSync(p, "utf8");
const run = (...args: string[]) => fxConvertCommand(["--rates", RATES, ...args], read);

describe("fx:convert", () => {
  it("prints from, to, amountMinor, convertedMinor, the exact midRate, rateDate and via", () => {
    const r = run("--from", "USD", "--to", "JPY", "--amount", "100.00", "--on", "2024-03-15");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      from: "USD", to: "JPY", amountMinor: "10000", convertedMinor: "14876", midRate: "405075/2723", midRateDecimal: "148.7605582079",
      rateDate: "2024-03-15", via: "EUR", rounding: "half-even",
    });
    expect(out.explanation.lines.length).toBeGreaterThan(3);
  });

  it("uses Friday's rates on a Sunday and says via null for a pair with EUR", () => {
    const out = JSON.parse(run("--from", "EUR", "--to", "GBP", "--amount", "10", "--on", "2024-03-17").stdout);
    expect(out).toMatchObject({ amountMinor: "1000", convertedMinor: "854", midRate: "0.8541", rateDate: "2024-03-15", via: null });
  });

  it.each([
    [["--from", "USD", "--to", "JPY", "--amount", "100.00", "--on", "2025-06-15"], "RATE_STALE"],
    [["--from", "EUR", "--to", "BGN", "--amount", "1", "--on", "1999-01-05"], "RATE_NOT_FOUND"],
    [["--from", "USD", "--to", "XXX", "--amount", "1", "--on", "2024-03-15"], "UNKNOWN_CURRENCY"],
    [["--from", "JPY", "--to", "USD", "--amount", "100.5", "--on", "2024-03-15"], "INVALID_AMOUNT"],
    [["--from", "USD", "--to", "JPY", "--amount", "0", "--on", "2024-03-15"], "INVALID_AMOUNT"],
  ])("exits 1 with the typed error for %j", (args, code) => {
    const r = run(...args);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr).error.code).toBe(code);
  });

  it("exits 1 naming the line when the rates file is malformed, and 2 on usage errors", () => {
    const bad = fxConvertCommand(["--rates", "x.csv", "--from", "USD", "--to", "JPY", "--amount", "1", "--on", "2024-03-15"], () => "Date,USD,\n2024-03-15,abc,\n");
    expect(bad.exitCode).toBe(1);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: "INVALID_RATES_FILE", details: { line: 2, column: "USD" } });
    expect(fxConvertCommand(["--from", "USD"], read).exitCode).toBe(2);
    expect(run("--from", "USD", "--to", "JPY", "--amount", "1", "--on", "2024-03-15", "--rounding", "nearest").exitCode).toBe(2);
    expect(run("--from", "USD", "--to", "JPY", "--amount", "1", "--on", "2024-03-15", "--bogus", "1").exitCode).toBe(2);
  });

  it("runs as the npm script, end to end", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const args = ["--import", "tsx", "scripts/fx-convert.ts", "--rates", RATES, "--from", "USD", "--to", "JPY", "--amount", "100.00", "--on", "2024-03-15"];
    expect(JSON.parse(execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" })).convertedMinor).toBe("14876");
    const stale = spawnSync(process.execPath, [...args.slice(0, -1), "2025-06-15"], { cwd: root, encoding: "utf8" });
    expect(stale.status).toBe(1);
    expect(JSON.parse(stale.stderr).error.code).toBe("RATE_STALE");
  }, 30_000);
});
