// The transfers benchmark's flags (scripts/lib/transfers-bench-flags.ts): defaults that keep
// today's run as it was, the new modes, and a message naming any wrong flag.
import { describe, expect, it } from "vitest";
import { fitPools, isPlainRun, parseDurationMs, parseTransfersBenchFlags } from "../../scripts/lib/transfers-bench-flags";

describe("parseTransfersBenchFlags", () => {
  it("defaults to today's fixed-rate run in one process", () => {
    const f = parseTransfersBenchFlags([]);
    expect(f).toMatchObject({ rate: 330, duration: 20, listRows: 1_000_000, workers: 1, concurrency: 4, webs: 0, maxInFlight: 48, retryRefused: 0, ramp: null, scaleOut: [], killWorkerEveryMs: 0, drainSeconds: 120 });
    expect(isPlainRun(f)).toBe(true);
  });

  it("takes the ramp with its defaults, or its own flags", () => {
    expect(parseTransfersBenchFlags(["--ramp"]).ramp).toEqual({ startPerSecond: 100, stepPerSecond: 100, stepSeconds: 10, warmupSeconds: 5, maxPerSecond: 3000, untilMultiple: 3 });
    const f = parseTransfersBenchFlags(["--ramp", "--ramp-start=20", "--ramp-step=30", "--ramp-step-seconds=3", "--ramp-warmup=0", "--ramp-max=80", "--ramp-until=0"]);
    expect(f.ramp).toEqual({ startPerSecond: 20, stepPerSecond: 30, stepSeconds: 3, warmupSeconds: 0, maxPerSecond: 80, untilMultiple: 0 });
    expect(f.maxInFlight).toBe(1_000);
    expect(isPlainRun(f)).toBe(false);
    expect(parseTransfersBenchFlags(["--ramp=0"]).ramp).toBeNull();
  });

  it("takes processes, scale-out, kills and retries", () => {
    const f = parseTransfersBenchFlags(["--workers=2", "--webs=3", "--scale-out=1,2,3", "--kill-worker-every=5s", "--retry-refused=2"]);
    expect(f).toMatchObject({ workers: 2, webs: 3, scaleOut: [1, 2, 3], killWorkerEveryMs: 5_000, retryRefused: 2, drainSeconds: 240 });
    expect(isPlainRun(f)).toBe(false);
  });

  it.each([
    [["--rate=abc"], /--rate must be a number from 1 to 100000, got "abc"/],
    [["--rate="], /--rate must be a number/],
    [["--workers=0"], /--workers must be a whole number from 1 to 16/],
    [["--webs=1.5"], /--webs must be a whole number/],
    [["--webs=17"], /--webs must be a whole number from 0 to 16/],
    [["--scale-out=1,,3"], /--scale-out must list 1 to 8 worker counts/],
    [["--scale-out=0"], /--scale-out must list/],
    [["--kill-worker-every=soon"], /--kill-worker-every must be a duration like 5s/],
    [["--kill-worker-every=100ms"], /--kill-worker-every must be at least 500ms/],
    [["--ramp-step=50"], /--ramp-step needs --ramp/],
    [["--ramp", "--ramp-start=500", "--ramp-max=100"], /--ramp-max \(100\) must be at least --ramp-start \(500\)/],
    [["--ramp=yes"], /--ramp takes no value/],
    [["--rates=5"], /unknown flag --rates; known: --rate /],
    [["--rate=5", "--rate=6"], /--rate is given twice/],
    [["rate=5"], /unexpected argument "rate=5"/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseTransfersBenchFlags(argv)).toThrow(message);
  });
});

describe("parseDurationMs", () => {
  it.each([
    ["5s", 5_000],
    ["500ms", 500],
    ["2m", 120_000],
    ["1.5s", 1_500],
    ["7", 7_000],
  ])("%s = %d ms", (text, ms) => {
    expect(parseDurationMs(text, "x")).toBe(ms);
  });
});

describe("fitPools", () => {
  const base = { maxConnections: 300, reserved: 3, benchPool: 24, webs: 0, webPool: 16, workers: 3, workerPool: 20 };
  const total = (o: typeof base, p: ReturnType<typeof fitPools>) => o.benchPool + 10 + o.webs * p.webPool + o.workers * (p.workerPool + 10);

  it("keeps the pools when the run fits", () => {
    expect(fitPools(base)).toEqual({ benchPool: 24, webPool: 16, workerPool: 20, note: null });
  });

  it("shrinks the pools to fit a server with 100 connections", () => {
    // 100 − 3 − 10 = 87; 24 + 10 + 3 × 10 = 64 fixed; 23 left for 60 asked: × 0.38.
    const o = { ...base, maxConnections: 100 };
    const p = fitPools(o);
    expect(p).toMatchObject({ webPool: 16, workerPool: 7 });
    expect(p.note).toMatch(/pools lowered to fit max_connections 100 \(asked: bench 24 \+ sandbox 10 \+ 0 web × 16 \+ 3 worker × \(20 \+ 10 pg-boss\)\): worker 7/);
    expect(total(o, p)).toBeLessThanOrEqual(87);
    const webs = { ...o, benchPool: 8, webs: 3 };
    const q = fitPools(webs);
    expect(q).toMatchObject({ webPool: 5, workerPool: 7 });
    expect(total(webs, q)).toBeLessThanOrEqual(87);
  });

  it("refuses a run that cannot fit, with the numbers", () => {
    expect(() => fitPools({ ...base, maxConnections: 100, webs: 3 })).toThrow(/needs more connections than the server allows: bench 24 \+ sandbox 10 \+ 3 web × 16/);
  });
});
