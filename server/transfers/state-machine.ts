/**
 * The transfer state machine (DESIGN.md "Transfer lifecycle"), pure.
 *
 *   created → reserved → submitted → acknowledged → settled → returned
 *   created → failed | cancelled;  reserved → failed | cancelled;  submitted → settled | failed;
 *   acknowledged → failed
 *
 * Invariants kept:
 * - Only the edges in EDGES exist; the database refuses any other (trigger transfers_guard), so
 *   this table and the migration must agree (test/unit/transfer-state-machine.test.ts).
 * - failed, returned and cancelled are terminal. settled is final for success; only a return can
 *   follow it.
 * - Each state's ledger effect: reserved places the hold, settled posts it, failed and cancelled
 *   void it (when one was placed), returned posts a reversal of the settlement entry.
 */

export const TRANSFER_STATES = ["created", "reserved", "submitted", "acknowledged", "settled", "failed", "returned", "cancelled"] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<TransferState> = new Set(["failed", "returned", "cancelled"]);
/** States a transfer can wait in; each has a time budget per rail (rail_policies). */
export const ACTIVE_STATES = ["created", "reserved", "submitted", "acknowledged"] as const;
export type ActiveState = (typeof ACTIVE_STATES)[number];

export const EDGES: Readonly<Record<TransferState, readonly TransferState[]>> = {
  created: ["reserved", "failed", "cancelled"],
  reserved: ["submitted", "failed", "cancelled"],
  submitted: ["acknowledged", "settled", "failed"],
  acknowledged: ["settled", "failed"],
  settled: ["returned"],
  failed: [],
  returned: [],
  cancelled: [],
};

/** The success path; partner events move a transfer forward along it, never backwards. */
const SUCCESS_PATH: readonly TransferState[] = ["created", "reserved", "submitted", "acknowledged", "settled", "returned"];

export function isTerminal(s: TransferState): boolean {
  return TERMINAL_STATES.has(s);
}

export function isActive(s: TransferState): s is ActiveState {
  return (ACTIVE_STATES as readonly string[]).includes(s);
}

export function canTransition(from: TransferState, to: TransferState): boolean {
  return EDGES[from].includes(to);
}

/** Position on the success path, or -1 for failed and cancelled. */
export function progressOf(s: TransferState): number {
  return SUCCESS_PATH.indexOf(s);
}

/**
 * The states a partner report of `target` walks a transfer through from `from`: the success-path
 * steps in between (a settlement webhook that overtook the acknowledgement settles), then
 * `target`. Null when the report does not move the transfer forward (already there, behind, or
 * the transfer ended another way); `failed` is reachable only from states that can fail.
 */
export function forwardPath(from: TransferState, target: TransferState): TransferState[] | null {
  if (isTerminal(from)) return null;
  if (target === "failed") return canTransition(from, "failed") ? ["failed"] : null;
  const a = progressOf(from);
  const b = progressOf(target);
  if (a < 0 || b < 0 || b <= a) return null;
  const path = SUCCESS_PATH.slice(a + 1, b + 1);
  // Every step must be an edge; `submitted → settled` exists but walking through acknowledged is
  // equally legal and records what the partner's report implies.
  let cur = from;
  for (const s of path) {
    if (!canTransition(cur, s)) return null;
    cur = s;
  }
  return path;
}
