// The capacity chart's SVG writer (scripts/lib/capacity-chart.ts): well-formed SVG that an XML
// parser accepts, with each expected series, its points where the figures put them, the capacity
// and knee markers, and the reading in words.
import { describe, expect, it } from "vitest";
import { DOMParser, type Document, type Element } from "@xmldom/xmldom";
import { describeCurve, renderCapacityChart, RATE_SERIES, wrapText } from "../../scripts/lib/capacity-chart";
import { readCurve, type StepFigures } from "../../scripts/lib/capacity-curve";

function parseSvg(text: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      if (level !== "warning") throw new Error(`not well-formed SVG: ${message}`);
    },
  }).parseFromString(text, "image/svg+xml");
}

const elements = (root: Document | Element, tag: string): Element[] => Array.from(root.getElementsByTagName(tag));
const series = (doc: Document, key: string) => elements(doc, "g").find((g) => g.getAttribute("data-series") === key);
const role = (doc: Document, key: string) => elements(doc, "g").find((g) => g.getAttribute("data-role") === key);

const step = (n: number, offered: number, admitted: number, settled: number, p99Ms: number | null): StepFigures => ({
  step: n, offeredPerSecond: offered, seconds: 10, sentPerSecond: offered, retriesPerSecond: 0, admittedPerSecond: admitted, refusedPerSecond: offered - admitted,
  settledPerSecond: settled, admitted: admitted * 10, refused: (offered - admitted) * 10, errors: 0, shed: 0, unsettled: 0,
  p50Ms: p99Ms === null ? null : p99Ms / 3, p95Ms: p99Ms === null ? null : p99Ms / 2, p99Ms,
});

const steps = [step(1, 100, 100, 99, 300), step(2, 200, 200, 198, 450), step(3, 300, 290, 280, 900), step(4, 400, 310, 300, 1200), step(5, 500, 305, 295, null)];
const reading = readCurve(steps);

describe("renderCapacityChart", () => {
  const svg = renderCapacityChart(steps, reading, { title: "Transfers capacity curve", subtitle: "embedded PostgreSQL 18, 1 worker, 0 web processes, 10 s steps" });
  const doc = parseSvg(svg);

  it("is well-formed SVG with a size and a viewBox", () => {
    const root = doc.documentElement!;
    expect(root.tagName).toBe("svg");
    expect(root.getAttribute("xmlns")).toBe("http://www.w3.org/2000/svg");
    expect(root.getAttribute("viewBox")).toBe(`0 0 ${root.getAttribute("width")} ${root.getAttribute("height")}`);
    expect(Number(root.getAttribute("width"))).toBe(960);
  });

  it("draws offered, admitted, refused and settled per second, one point per step, and p99 where known", () => {
    for (const r of RATE_SERIES) {
      const g = series(doc, r.key);
      expect(g?.getAttribute("data-series"), r.key).toBe(r.key);
      expect(elements(g!, "path")[0]!.getAttribute("d")).toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){4}$/);
      expect(elements(g!, "circle").map((c) => c.getAttribute("data-value"))).toEqual(steps.map((s) => String(Math.round(r.value(s)))));
    }
    const p99 = series(doc, "p99")!;
    expect(elements(p99, "rect").map((c) => c.getAttribute("data-value"))).toEqual(["300", "450", "900", "1200"]);
    expect(elements(p99, "title")[3]!.textContent).toBe("step 4, offered 400/s: p99 1.2 s (p50 400 ms, p95 600 ms)");
  });

  it("places points by their values: more settled is higher, later steps further right", () => {
    const pts = elements(series(doc, "settled")!, "circle").map((c) => ({ x: Number(c.getAttribute("cx")), y: Number(c.getAttribute("cy")) }));
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.x).toBeGreaterThan(pts[i - 1]!.x);
    expect(pts[3]!.y).toBeLessThan(pts[2]!.y); // 300 above 280
    expect(pts[4]!.y).toBeGreaterThan(pts[3]!.y); // 295 below 300
    const offered = elements(series(doc, "offered")!, "circle").map((c) => Number(c.getAttribute("cy")));
    expect(offered[4]).toBeLessThan(pts[4]!.y); // 500 offered above 295 settled
  });

  it("marks the capacity, the knee and the overload beyond it, and says what they are", () => {
    expect(role(doc, "capacity")!.textContent).toContain("capacity ≈ 300/s");
    expect(role(doc, "knee")!.textContent).toContain("knee 200/s");
    const kneeX = Number(elements(role(doc, "knee")!, "line")[0]!.getAttribute("x1"));
    expect(Number(elements(role(doc, "overload")!, "rect")[0]!.getAttribute("x"))).toBeCloseTo(kneeX, 0);
    const words = elements(doc, "text").find((t) => t.getAttribute("data-role") === "reading")!;
    expect(elements(words, "tspan").map((t) => t.textContent).join(" ")).toBe("capacity ≈ 300 settled/s; knee at 200/s offered; beyond it settled stays at 93–100% of capacity; p99 up to 1.2 s (450 ms up to the knee)");
  });

  it("has a legend entry per series", () => {
    const labels = elements(role(doc, "legend")!, "text").map((t) => t.textContent);
    expect(labels).toEqual(["offered /s", "admitted /s", "refused (OVERLOADED) /s", "settled /s", "p99 (right axis)"]);
  });

  it("escapes text, so any title stays well-formed", () => {
    const title = `a <b> & "c" 'd'`;
    const d = parseSvg(renderCapacityChart(steps, reading, { title }));
    expect(elements(d, "text")[0]!.textContent).toBe(title);
  });

  it("draws no knee when the ramp never reached the capacity, and says so", () => {
    const calm = [step(1, 100, 100, 100, 200), step(2, 200, 200, 199, 250)];
    const d = parseSvg(renderCapacityChart(calm, readCurve(calm), { title: "t" }));
    expect(role(d, "knee")).toBeUndefined();
    expect(role(d, "overload")).toBeUndefined();
    expect(describeCurve(readCurve(calm))).toBe("capacity ≈ 199 settled/s; not reached: every step kept up (raise --ramp-max); p99 up to 250 ms");
  });

  it("stays valid with no steps", () => {
    const d = parseSvg(renderCapacityChart([], readCurve([]), { title: "t" }));
    expect(d.documentElement!.textContent).toContain("no steps were run");
    expect(series(d, "settled")).toBeUndefined();
  });
});

describe("wrapText", () => {
  it("breaks at clauses first, then at spaces, and keeps every word", () => {
    expect(wrapText("aaa bbb; ccc ddd; eee", 10)).toEqual(["aaa bbb;", "ccc ddd;", "eee"]);
    expect(wrapText("one two three four five", 9)).toEqual(["one two", "three", "four five"]);
    expect(wrapText("short", 80)).toEqual(["short"]);
    expect(wrapText("averyveryverylongword x", 5)).toEqual(["averyveryverylongword", "x"]);
  });

  it("keeps a long header inside the chart: the plot moves down as lines are added", () => {
    const long = "fresh database bench_transfers_mx5khyli on DATABASE_URL's server; 1 worker(s) × concurrency 2; 2 web process(es); 3 s steps; a worker killed every 5 s; 2026-12-02T03:30Z";
    const d = parseSvg(renderCapacityChart(steps, reading, { title: "t", subtitle: long }));
    const texts = elements(d, "text").filter((t) => t.getAttribute("fill") === "#4b5563");
    expect(texts.length).toBe(2);
    expect(texts.map((t) => t.textContent).join(" ")).toBe(long);
    expect(Number(d.documentElement!.getAttribute("height"))).toBeGreaterThan(560);
  });
});
