/**
 * `npm run fx:convert -- --rates <csv> --from USD --to JPY --amount 100.00 --on 2024-03-15`:
 * converts at the mid rate straight from an ECB rates file, with the same domain code as the
 * product and no database. Kept apart from scripts/fx-convert.ts so tests run it in-process.
 *
 * Output (stdout, exit 0): JSON with from, to, amountMinor and convertedMinor (integer strings),
 * midRate (exact: a decimal when it terminates, else "numerator/denominator"), midRateDecimal (10
 * decimals, for people), rateDate, via ("EUR" or null), rounding, ratesUsed and the explanation.
 * A typed error (stale or missing rate, unknown currency, bad amount, bad file) prints
 * {"error":{code,message,details}} on stderr and exits 1; a usage error exits 2.
 */
import { parseArgs } from "node:util";
import { isAppError } from "../errors/app-error";
import { parseAmount } from "../money";
import { ROUNDING_MODES, formatExact, formatExactDecimal, type RoundingMode } from "./exact";
import { parseEcbRatesCsv } from "./ecb-csv";
import { DEFAULT_MAX_RATE_AGE_DAYS, RATE_DISPLAY_DECIMALS, RateHistory, convertAmount } from "./reference-rates";

export interface CommandResult {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

const USAGE = "usage: fx:convert -- --rates <csv> --from <CUR> --to <CUR> --amount <decimal> --on <YYYY-MM-DD> [--rounding half-even|half-up|down|up] [--max-age-days 4]";

export function fxConvertCommand(argv: string[], readText: (path: string) => string): CommandResult {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rates: { type: "string" }, from: { type: "string" }, to: { type: "string" }, amount: { type: "string" }, on: { type: "string" },
        rounding: { type: "string" }, "max-age-days": { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    return { exitCode: 2, stdout: "", stderr: `${(e as Error).message}\n${USAGE}\n` };
  }
  const missing = ["rates", "from", "to", "amount", "on"].filter((k) => values[k] === undefined);
  if (missing.length > 0) return { exitCode: 2, stdout: "", stderr: `missing --${missing.join(", --")}\n${USAGE}\n` };
  const rounding = (values.rounding ?? "half-even") as RoundingMode;
  if (!ROUNDING_MODES.includes(rounding)) return { exitCode: 2, stdout: "", stderr: `--rounding must be one of ${ROUNDING_MODES.join(", ")}\n` };
  const maxAgeText = values["max-age-days"] ?? String(DEFAULT_MAX_RATE_AGE_DAYS);
  if (!/^\d{1,4}$/.test(maxAgeText)) return { exitCode: 2, stdout: "", stderr: `--max-age-days must be a whole number of days\n` };
  let text: string;
  try {
    text = readText(values.rates!);
  } catch (e) {
    return { exitCode: 2, stdout: "", stderr: `cannot read ${values.rates}: ${(e as Error).message}\n` };
  }
  try {
    const history = new RateHistory(parseEcbRatesCsv(text).days);
    const from = values.from!;
    const to = values.to!;
    const amountMinor = parseAmount(values.amount!, from, { allowZero: false });
    const r = convertAmount(history, { amountMinor, from, to, on: values.on!, rounding, maxAgeDays: Number(maxAgeText) });
    const out = {
      from: r.from,
      to: r.to,
      amountMinor: r.amountMinor.toString(),
      convertedMinor: r.convertedMinor.toString(),
      midRate: formatExact(r.midRate),
      midRateDecimal: formatExactDecimal(r.midRate, RATE_DISPLAY_DECIMALS),
      rateDate: r.rateDate,
      via: r.via,
      rounding: r.rounding,
      ratesUsed: r.ratesUsed,
      explanation: r.explanation,
    };
    return { exitCode: 0, stdout: `${JSON.stringify(out, null, 2)}\n`, stderr: "" };
  } catch (e) {
    if (!isAppError(e)) throw e;
    return { exitCode: 1, stdout: "", stderr: `${JSON.stringify({ error: { code: e.code, message: e.message, details: e.details ?? {} } })}\n` };
  }
}
