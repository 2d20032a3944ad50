/**
 * The approvals inbox keeps its state in the URL (view tab, status filter, keyset cursor), and a
 * few pure helpers for showing ages and deadlines. No amounts pass through numbers here.
 */
import { defineUrlState, param, type RawSearchParams } from "../kit/url-state";

export type RawParams = RawSearchParams;

export const VIEWS = [
  { key: "waiting_for_me", label: "Waiting for me", needsApprover: true },
  { key: "waiting_for_others", label: "Waiting for others", needsApprover: false },
  { key: "mine", label: "My proposals", needsApprover: false },
  { key: "all", label: "All", needsApprover: false },
] as const;
export type ViewKey = (typeof VIEWS)[number]["key"];

export const STATUSES = ["open", "applied", "rejected", "withdrawn", "expired"] as const;
export type StatusKey = (typeof STATUSES)[number];

export const INBOX_PAGE_SIZE = 25;

/** The inbox's search params; the default tab depends on who looks, so readInboxParams fills it in. */
export const inboxState = defineUrlState("/approvals", {
  view: param.oneOf(VIEWS.map((v) => v.key)),
  status: param.oneOf(STATUSES),
  cursor: param.text(),
});

export interface InboxParams {
  view: ViewKey;
  status?: StatusKey;
  cursor?: string;
}

/** Known params only. The default tab is "Waiting for me" for approvers, "My proposals" otherwise. */
export function readInboxParams(raw: RawParams, isApprover: boolean): InboxParams {
  const { view, status, cursor } = inboxState.read(raw);
  const known = VIEWS.find((v) => v.key === view && (isApprover || !v.needsApprover));
  return { view: known?.key ?? (isApprover ? "waiting_for_me" : "mine"), status, cursor };
}

export function inboxHref(p: Partial<InboxParams>): string {
  return inboxState.href(p);
}

/** "3 d 4 h", "5 h 12 min", "42 min", "under a minute". */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 1) return "under a minute";
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return `${m} min`;
}

/** "expires in 2 d 3 h" or "expired 4 h ago". */
export function formatDeadline(expiresAt: Date, now: Date): string {
  const left = expiresAt.getTime() - now.getTime();
  return left > 0 ? `in ${formatDuration(left)}` : `${formatDuration(left)} ago`;
}

export const STATUS_TONE: Record<StatusKey, "neutral" | "good" | "bad" | "info"> = {
  open: "info",
  applied: "good",
  rejected: "bad",
  withdrawn: "neutral",
  expired: "neutral",
};
