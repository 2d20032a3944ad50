/**
 * Streams a camt.053 file through the reader and prints what it read and the process's peak
 * memory as JSON: {"statements":1,"entries":180000,"netMinor":"...","maxRssBytes":...,"heapUsedBytes":...}.
 * The memory test runs it with --max-old-space-size to prove a large statement is read in bounded
 * memory (test/unit/recon-camt053-memory.test.ts).
 */
import { createReadStream } from "node:fs";
import { readCamt053 } from "../../server/partners/camt053/reader";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: camt053-count <file>\n");
  process.exit(2);
}
let net = 0n;
let maxHeap = 0;
let entries = 0;
const summary = await readCamt053(createReadStream(file, { highWaterMark: 64 * 1024 }), {
  entry(e) {
    entries++;
    net += e.direction === "credit" ? e.amountMinor : -e.amountMinor;
    if (entries % 10_000 === 0) maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
  },
});
process.stdout.write(
  JSON.stringify({ statements: summary.statementCount, entries, netMinor: net.toString(), maxRssBytes: process.resourceUsage().maxRSS * 1024, maxHeapUsedBytes: maxHeap }) + "\n",
);
