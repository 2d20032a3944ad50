// The importing process of bench:recon, run on its own so its peak memory is its own:
//   node --import tsx scripts/bench/recon-import.ts <database url> <source id> <file>
// Streams the file through importStatement and prints {"ms":…,"lines":…,"maxRssBytes":…}.
import { createReadStream } from "node:fs";
import { createDbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { importStatement } from "../../server/recon/import";

const [url, sourceId, file] = process.argv.slice(2);
if (!url || !sourceId || !file) {
  process.stderr.write("usage: recon-import <database url> <source id> <file>\n");
  process.exit(2);
}
const db = createDbHandles(url, { max: 2, applicationName: "bench-recon-import" });
const started = performance.now();
const out = await importStatement(db, SYSTEM_ACTOR, { sourceId, fileName: file.split("/").pop()!, content: createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer> });
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms, status: out.status, lines: out.lineCount, sizeBytes: out.sizeBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + "\n");
await db.prisma.$disconnect().catch(() => {});
await db.pool.end();
