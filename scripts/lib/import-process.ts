/**
 * The V8 limits of a process that imports statement files from disk (`npm run statement:import`,
 * and the memory test that proves the bound). Issue 11 asks that a 100 MB statement imports within
 * 256 MB of memory. The import streams (it holds one entry and a COPY buffer), so its live heap
 * stays under about 90 MB; but with V8's defaults the heap grows to about 180 MB of mostly garbage
 * (its young generation sizes itself to the allocation rate), and resident memory reached 260-290
 * MiB. Capping the old generation at 128 MB and each young semi-space at 8 MB keeps the peak at
 * about 175-190 MiB resident for 100 MB (code, buffers and heap), for about a third more time
 * spent in the collector (4.5-5.4 s → 6.9-10 s on the shared machine, measured 2026-12-02).
 * package.json's statement:import passes these flags (test/unit/import-process-flags.test.ts).
 */
export const IMPORT_PROCESS_NODE_FLAGS = ["--max-old-space-size=128", "--max-semi-space-size=8"] as const;
