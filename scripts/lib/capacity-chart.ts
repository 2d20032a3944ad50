/**
 * The capacity curve as an SVG chart (pure: figures in, SVG text out; test/unit/bench-capacity-chart.test.ts).
 *
 * One chart a reader understands at a glance: along the offered load, what was admitted, what
 * was refused and what settled per second (left axis), the capacity as a horizontal line, the
 * knee as a vertical one, and the create-to-settled p99 on the right axis. Each series is a
 * `<g data-series="…">` whose points carry their values as a tooltip (`<title>`).
 * Scales and line paths come from d3-scale and d3-shape; the markup is written here.
 */
import { scaleLinear } from "d3-scale";
import { line } from "d3-shape";
import type { CurveReading, StepFigures } from "./capacity-curve";

export interface ChartText {
  title: string;
  /** A line under the title (what ran: database, processes, step length). */
  subtitle?: string;
}

const WIDTH = 960;
const MARGIN = { right: 84, bottom: 64, left: 76 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = 392;
/** Characters of 12 px text that fit across the chart (about 6.6 px each). */
const LINE_CHARS = Math.floor((WIDTH - MARGIN.left - 16) / 6.6);
const LINE_HEIGHT = 16;

/** The series drawn against the left axis, in legend order. */
export const RATE_SERIES = [
  { key: "offered", label: "offered", color: "#6b7280", dash: "6 4", width: 2, value: (s: StepFigures) => s.offeredPerSecond },
  { key: "admitted", label: "admitted", color: "#2563eb", dash: null, width: 2, value: (s: StepFigures) => s.admittedPerSecond },
  { key: "refused", label: "refused (OVERLOADED)", color: "#dc2626", dash: "2 3", width: 2, value: (s: StepFigures) => s.refusedPerSecond },
  { key: "settled", label: "settled", color: "#16a34a", dash: null, width: 3.5, value: (s: StepFigures) => s.settledPerSecond },
] as const;
const DRAW_ORDER = ["admitted", "offered", "refused", "settled"] as const;
const P99_COLOR = "#ea580c";

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1).replace(/\.0$/, "") : x.toFixed(2).replace(/\.?0+$/, ""));
const fmtMs = (ms: number) => (ms >= 1000 ? `${fmt(ms / 1000)} s` : `${fmt(ms)} ms`);
const px = (x: number) => x.toFixed(1);

/** What the chart says in words under the title: capacity, knee, overload behaviour, latency. */
export function describeCurve(reading: CurveReading): string {
  const parts = [`capacity ≈ ${fmt(reading.capacityPerSecond)} settled/s`];
  if (!reading.isSaturated) parts.push("not reached: every step kept up (raise --ramp-max)");
  else if (reading.kneeOfferedPerSecond === null) parts.push("already past the capacity at the first step (lower --ramp-start)");
  else parts.push(`knee at ${fmt(reading.kneeOfferedPerSecond)}/s offered`);
  if (reading.overloadSettledShare) {
    const { min, max } = reading.overloadSettledShare;
    parts.push(`beyond it settled stays at ${Math.round(min * 100)}–${Math.round(max * 100)}% of capacity`);
  }
  if (reading.p99MsMax !== null) parts.push(`p99 up to ${fmtMs(reading.p99MsMax)}${reading.p99MsAtKnee !== null ? ` (${fmtMs(reading.p99MsAtKnee)} up to the knee)` : ""}`);
  return parts.join("; ");
}

/**
 * Splits text into lines of at most `maxChars`, preferring the ends of clauses ("; "), then spaces;
 * a word longer than a line stays whole.
 */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = "";
  const push = (piece: string) => {
    if (line.length > 0 && line.length + piece.length > maxChars) {
      lines.push(line.trimEnd());
      line = piece.trimStart();
    } else {
      line += piece;
    }
  };
  for (const clause of text.split(/(?<=; )/)) {
    if (clause.length <= maxChars) push(clause);
    else for (const word of clause.split(/(?<= )/)) push(word);
  }
  if (line.trim().length > 0) lines.push(line.trimEnd());
  return lines;
}

export function renderCapacityChart(steps: readonly StepFigures[], reading: CurveReading, text: ChartText): string {
  const subtitle = text.subtitle ? wrapText(text.subtitle, LINE_CHARS) : [];
  const words = wrapText(describeCurve(reading), LINE_CHARS);
  // The header grows with its lines; the plot keeps its size below it.
  const M = { ...MARGIN, top: 46 + LINE_HEIGHT * (subtitle.length + words.length) + 38 };
  const HEIGHT = M.top + PLOT_H + M.bottom;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="26" font-size="17" font-weight="600" fill="#111827">${escapeXml(text.title)}</text>`,
  );
  subtitle.forEach((l, i) => out.push(`<text x="${M.left}" y="${46 + LINE_HEIGHT * i}" fill="#4b5563">${escapeXml(l)}</text>`));
  out.push(`<text x="${M.left}" y="${46 + LINE_HEIGHT * subtitle.length}" fill="#111827" data-role="reading">`);
  words.forEach((l, i) => out.push(`<tspan x="${M.left}" dy="${i === 0 ? 0 : LINE_HEIGHT}">${escapeXml(l)}</tspan>`));
  out.push(`</text>`);
  if (steps.length === 0) {
    out.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#6b7280">no steps were run</text>`, `</svg>`);
    return out.join("\n");
  }

  const maxOffered = Math.max(...steps.map((s) => s.offeredPerSecond));
  const maxRate = Math.max(1, ...steps.flatMap((s) => RATE_SERIES.map((r) => r.value(s))));
  const p99s = steps.map((s) => s.p99Ms).filter((v): v is number => v !== null);
  const x = scaleLinear().domain([0, maxOffered * 1.04]).range([M.left, M.left + PLOT_W]).nice();
  const y = scaleLinear().domain([0, maxRate * 1.05]).range([M.top + PLOT_H, M.top]).nice();
  const yP99 = scaleLinear().domain([0, Math.max(1, ...p99s) * 1.05]).range([M.top + PLOT_H, M.top]).nice();

  // Overload: from the knee (or the first step, when even that was past the capacity) rightwards.
  if (reading.isSaturated) {
    const from = x(reading.kneeOfferedPerSecond ?? steps[0]!.offeredPerSecond);
    out.push(
      `<g data-role="overload"><rect x="${px(from)}" y="${M.top}" width="${px(M.left + PLOT_W - from)}" height="${PLOT_H}" fill="#fee2e2" fill-opacity="0.45"/>`,
      `<text x="${px(M.left + PLOT_W - 6)}" y="${M.top + 14}" text-anchor="end" fill="#b91c1c">overload</text></g>`,
    );
  }

  // Grid and axes.
  out.push(`<g data-role="grid" stroke="#e5e7eb" stroke-width="1">`);
  for (const t of y.ticks(8)) out.push(`<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${px(y(t))}" y2="${px(y(t))}"/>`);
  out.push(`</g>`);
  out.push(`<g data-role="x-axis" fill="#374151">`);
  out.push(`<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H}" stroke="#9ca3af"/>`);
  for (const t of x.ticks(10)) out.push(`<text x="${px(x(t))}" y="${M.top + PLOT_H + 18}" text-anchor="middle">${fmt(t)}</text>`);
  out.push(`<text x="${M.left + PLOT_W / 2}" y="${HEIGHT - 16}" text-anchor="middle" font-weight="600">offered load (new transfers per second)</text>`);
  out.push(`</g>`);
  out.push(`<g data-role="y-axis" fill="#374151">`);
  for (const t of y.ticks(8)) out.push(`<text x="${M.left - 8}" y="${px(y(t) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  out.push(`<text transform="translate(20 ${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle" font-weight="600">transfers per second</text>`);
  out.push(`</g>`);
  out.push(`<g data-role="y-axis-p99" fill="${P99_COLOR}">`);
  out.push(`<line x1="${M.left + PLOT_W}" x2="${M.left + PLOT_W}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="${P99_COLOR}" stroke-opacity="0.5"/>`);
  for (const t of yP99.ticks(8)) out.push(`<text x="${M.left + PLOT_W + 8}" y="${px(yP99(t) + 4)}">${fmtMs(t)}</text>`);
  out.push(`<text transform="translate(${WIDTH - 14} ${M.top + PLOT_H / 2}) rotate(90)" text-anchor="middle" font-weight="600">create-to-settled p99</text>`);
  out.push(`</g>`);

  // Capacity and knee.
  if (reading.capacityPerSecond > 0) {
    const cy = px(y(reading.capacityPerSecond));
    out.push(
      `<g data-role="capacity"><line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${cy}" y2="${cy}" stroke="#16a34a" stroke-dasharray="8 4" stroke-opacity="0.7"/>`,
      `<text x="${M.left + 6}" y="${px(y(reading.capacityPerSecond) - 6)}" fill="#15803d" font-weight="600">capacity ≈ ${fmt(reading.capacityPerSecond)}/s</text></g>`,
    );
  }
  if (reading.kneeOfferedPerSecond !== null) {
    const kx = px(x(reading.kneeOfferedPerSecond));
    out.push(
      `<g data-role="knee"><line x1="${kx}" x2="${kx}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#111827" stroke-dasharray="3 3" stroke-opacity="0.6"/>`,
      `<text x="${px(x(reading.kneeOfferedPerSecond) + 6)}" y="${M.top + 14}" fill="#111827">knee ${fmt(reading.kneeOfferedPerSecond)}/s</text></g>`,
    );
  }

  // The rate series (offered, dashed, over admitted: equal until admission control refuses), then
  // p99 on its own axis.
  for (const r of DRAW_ORDER.map((key) => RATE_SERIES.find((x) => x.key === key)!)) {
    const path = line<StepFigures>()
      .x((s) => x(s.offeredPerSecond))
      .y((s) => y(r.value(s)))(steps);
    out.push(`<g data-series="${r.key}" fill="${r.color}">`);
    out.push(`<path d="${path ?? ""}" fill="none" stroke="${r.color}" stroke-width="${r.width}"${r.dash ? ` stroke-dasharray="${r.dash}"` : ""} stroke-linejoin="round"/>`);
    for (const s of steps) {
      out.push(`<circle cx="${px(x(s.offeredPerSecond))}" cy="${px(y(r.value(s)))}" r="3.5" data-value="${fmt(r.value(s))}"><title>step ${s.step}, offered ${fmt(s.offeredPerSecond)}/s: ${escapeXml(r.label)} ${fmt(r.value(s))}/s</title></circle>`);
    }
    out.push(`</g>`);
  }
  const withP99 = steps.filter((s) => s.p99Ms !== null);
  const p99Path = line<StepFigures>()
    .x((s) => x(s.offeredPerSecond))
    .y((s) => yP99(s.p99Ms!))(withP99);
  out.push(`<g data-series="p99" fill="${P99_COLOR}">`);
  out.push(`<path d="${p99Path ?? ""}" fill="none" stroke="${P99_COLOR}" stroke-width="2"/>`);
  for (const s of withP99) {
    const cx = x(s.offeredPerSecond);
    const cy = yP99(s.p99Ms!);
    out.push(`<rect x="${px(cx - 3.5)}" y="${px(cy - 3.5)}" width="7" height="7" data-value="${fmt(s.p99Ms!)}"><title>step ${s.step}, offered ${fmt(s.offeredPerSecond)}/s: p99 ${fmtMs(s.p99Ms!)} (p50 ${fmtMs(s.p50Ms!)}, p95 ${fmtMs(s.p95Ms!)})</title></rect>`);
  }
  out.push(`</g>`);

  // Legend across the top of the plot.
  const legend = [...RATE_SERIES.map((r) => ({ label: `${r.label} /s`, color: r.color, dash: r.dash, width: r.width })), { label: "p99 (right axis)", color: P99_COLOR, dash: null, width: 2 }];
  out.push(`<g data-role="legend" fill="#111827">`);
  let lx = M.left;
  for (const item of legend) {
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${M.top - 18}" y2="${M.top - 18}" stroke="${item.color}" stroke-width="${item.width}"${item.dash ? ` stroke-dasharray="${item.dash}"` : ""}/>`);
    out.push(`<text x="${lx + 28}" y="${M.top - 14}">${escapeXml(item.label)}</text>`);
    lx += 40 + item.label.length * 6.6;
  }
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n");
}
