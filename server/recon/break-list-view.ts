/**
 * What a view of the breaks queue is: its filters, sort, page size and keyset cursor as URL search
 * params (server/core/url-state.ts). The console's breaks page reads and writes its URL with this
 * definition (components/recon/break-params.ts), and a saved view of the queue is stored in the form
 * it writes (server/views/saved-views.ts), so a stored view means exactly what its link shows.
 */
import { AGE_BUCKETS, BREAK_SORTS, BREAK_STATUSES, BREAK_TYPES } from "./break-kinds";
import { defineUrlState, param, type UrlParamWithDefault, type UrlState } from "../core/url-state";

export const BREAK_PAGE_SIZES = [25, 50, 100, 200] as const;

type BreakStatusValue = (typeof BREAK_STATUSES)[number];

/** Statuses: any of the three, in their fixed order; open and timing differences when none is given. */
const statusesParam: UrlParamWithDefault<BreakStatusValue[]> = {
  key: "status",
  parse(values) {
    const picked = new Set(values.flatMap((v) => v.split(",")).map((v) => v.trim()));
    const statuses = BREAK_STATUSES.filter((s) => picked.has(s));
    return statuses.length > 0 ? statuses : undefined;
  },
  format: (v) => [...v],
  default: ["open", "timing"],
};

export const breakListState = defineUrlState("/breaks", {
  types: param.many(BREAK_TYPES, { key: "type" }),
  statuses: statusesParam,
  age: param.oneOf(AGE_BUCKETS),
  source: param.text({ pattern: /^[0-9a-f-]{36}$/ }),
  currency: param.text({ pattern: /^[A-Z]{3}$/, transform: (s) => s.toUpperCase() }),
  min: param.text({ max: 45 }),
  max: param.text({ max: 45 }),
  /** "me", "unassigned" or a user id. */
  assignee: param.text({ pattern: /^(me|unassigned|[0-9a-f-]{36})$/ }),
  sort: param.withDefault(param.oneOf(BREAK_SORTS), "oldest" as (typeof BREAK_SORTS)[number]),
  limit: param.withDefault(param.int(BREAK_PAGE_SIZES), 50 as (typeof BREAK_PAGE_SIZES)[number]),
  cursor: param.cursor({ pattern: /^[A-Za-z0-9_-]+$/ }),
});

export type BreakListView = UrlState<typeof breakListState.params>;
