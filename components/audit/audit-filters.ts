/**
 * The audit page's state lives in the URL (components/kit/url-state.ts): filters and the keyset
 * cursor are search params, so a filtered page can be linked to and the back button walks
 * through earlier views. This module declares those params and turns them into audit.list's input.
 */
import { defineUrlState, param, type RawSearchParams, type UrlState } from "../kit/url-state";
import type { RouterInputs } from "../kit/api-types";

export const auditListState = defineUrlState("/audit", {
  actor: param.text(),
  action: param.text(),
  targetType: param.text(),
  targetId: param.text(),
  from: param.text({ max: 40 }),
  to: param.text({ max: 40 }),
  // Checked in toAuditQuery, so a bad cursor is reported rather than silently dropped.
  cursor: param.text(),
});

export type AuditParams = UrlState<typeof auditListState.params>;

export const AUDIT_PAGE_SIZE = 50;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads the known params (first value of each, trimmed, empty dropped). */
export function readAuditParams(raw: RawSearchParams): AuditParams {
  return auditListState.read(raw);
}

/** A time typed in the form: datetime-local values ("2026-11-21T08:00") are taken as UTC. */
export function parseUtcInput(value: string): Date | null {
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : /^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00Z` : `${value}Z`;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** audit.list's input, as the router declares it. */
export type AuditQueryInput = RouterInputs["audit"]["list"];

/** Turns URL params into the audit.list input, or an error naming the bad field. */
export function toAuditQuery(p: AuditParams): { input: AuditQueryInput; error: null } | { input: null; error: string } {
  const input: AuditQueryInput = { limit: AUDIT_PAGE_SIZE };
  if (p.actor) {
    if (UUID.test(p.actor)) input.actorId = p.actor;
    else input.actorLabel = p.actor;
  }
  if (p.action) input.action = p.action;
  if (p.targetType) input.targetType = p.targetType;
  if (p.targetId) input.targetId = p.targetId;
  for (const key of ["from", "to"] as const) {
    const v = p[key];
    if (!v) continue;
    const d = parseUtcInput(v);
    if (!d) return { input: null, error: `"${v}" is not a valid ${key === "from" ? "From" : "To"} time; use a date and time in UTC` };
    input[key] = d;
  }
  if (p.cursor) {
    if (!/^[1-9]\d{0,18}$/.test(p.cursor)) return { input: null, error: `the page cursor "${p.cursor}" is not valid; start again from the newest records` };
    input.cursor = p.cursor;
  }
  return { input, error: null };
}

/** The href of the audit page with `params`, dropping empty values. */
export function auditHref(params: Partial<AuditParams>): string {
  return auditListState.href(params);
}
