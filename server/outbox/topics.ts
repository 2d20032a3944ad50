/**
 * Topic patterns of outbox subscriptions.
 *
 * Invariants kept:
 * - A topic is dot-separated lower-case segments (`transfer.settled`, `ledger.entry.posted`).
 * - A pattern is the same with wildcards: `*` matches exactly one segment, `**` (last segment
 *   only) matches one or more segments. `transfer.*` matches every transfer state,
 *   `ledger.**` every ledger topic, `**` everything.
 * - Matching is pure and total: any string is either a match or not, never an error; patterns are
 *   validated when a subscription is created, so stored patterns are always well-formed.
 */
import { AppError } from "../errors/app-error";

/**
 * Topics of the SLO module (server/slo): an objective's burn-rate alert changed level
 * (`slo.alert.page`, `slo.alert.ticket`, `slo.alert.ok`; aggregate `slo:<key>`), so an on-call
 * tool subscribed to `slo.alert.*` hears every page and its resolution; and incidents
 * (`incident.opened`, `incident.updated`, `incident.resolved`; aggregate `incident:<id>`).
 */
export const SLO_ALERT_TOPICS = ["slo.alert.page", "slo.alert.ticket", "slo.alert.ok"] as const;
export const INCIDENT_TOPICS = ["incident.opened", "incident.updated", "incident.resolved"] as const;

export const MAX_TOPIC_PATTERNS = 20;
export const MAX_TOPIC_PATTERN_LENGTH = 200;

const SEGMENT = /^[a-z0-9_-]+$/;

/** Why `pattern` is not a valid topic pattern, or null when it is. */
export function topicPatternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "is empty";
  if (pattern.length > MAX_TOPIC_PATTERN_LENGTH) return `is longer than ${MAX_TOPIC_PATTERN_LENGTH} characters`;
  const segments = pattern.split(".");
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === "*") continue;
    if (s === "**") {
      if (i !== segments.length - 1) return `uses "**" before the last segment`;
      continue;
    }
    if (!SEGMENT.test(s)) return `has segment ${JSON.stringify(s)}: use lower-case letters, digits, "_", "-", or the wildcards "*" and "**"`;
  }
  return null;
}

/**
 * Validates and normalises a subscription's patterns: trimmed, de-duplicated, sorted.
 * Errors: BAD_INPUT (no pattern, too many, the first malformed one named).
 */
export function checkTopicPatterns(patterns: readonly string[]): string[] {
  const cleaned = [...new Set(patterns.map((p) => p.trim()).filter((p) => p.length > 0))].sort();
  if (cleaned.length === 0) throw new AppError("BAD_INPUT", `give at least one topic pattern, for example "transfer.*"`, { details: { field: "topics" } });
  if (cleaned.length > MAX_TOPIC_PATTERNS) {
    throw new AppError("BAD_INPUT", `at most ${MAX_TOPIC_PATTERNS} topic patterns per subscription (got ${cleaned.length})`, { details: { field: "topics" } });
  }
  for (const p of cleaned) {
    const problem = topicPatternProblem(p);
    if (problem) throw new AppError("BAD_INPUT", `topic pattern ${JSON.stringify(p)} ${problem}`, { details: { field: "topics", pattern: p } });
  }
  return cleaned;
}

/** Whether `topic` matches `pattern` (see the module comment for the wildcards). */
export function topicMatches(pattern: string, topic: string): boolean {
  const ps = pattern.split(".");
  const ts = topic.split(".");
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (p === "**") return i === ps.length - 1 && ts.length > i;
    if (i >= ts.length) return false;
    if (p !== "*" && p !== ts[i]) return false;
    if (p === "*" && ts[i]!.length === 0) return false;
  }
  return ps.length === ts.length;
}

/** Whether `topic` matches any of `patterns`. */
export function matchesAnyTopic(patterns: readonly string[], topic: string): boolean {
  return patterns.some((p) => topicMatches(p, topic));
}
