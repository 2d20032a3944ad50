// `npm run fx:convert -- --rates <csv> --from USD --to JPY --amount 100.00 --on 2024-03-15`
// Converts at the ECB mid rate straight from a rates file, no database (server/pricing/fx-convert-command.ts).
import { readFileSync } from "node:fs";
import { fxConvertCommand } from "../server/pricing/fx-convert-command";

const result = fxConvertCommand(process.argv.slice(2), (path) => readFileSync(path, "utf8"));
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
