/**
 * A scripted partner for transfer tests: each submit returns the next scripted outcome (default
 * accepted) and records the call; queryStatus returns a settable status. Only for tests; the
 * product talks to real adapters (server/partners).
 */
import type { PartnerAdapter, PartnerEvent, PartnerPayment, PartnerStatus, StatusOutcome, SubmitOutcome } from "../../server/partners/types";

export interface FakePartner extends PartnerAdapter {
  submits: string[];
  /** Every payment submitted, as sent. */
  payments: PartnerPayment[];
  script: SubmitOutcome["kind"][];
  status: PartnerStatus | "unavailable";
}

export function fakePartner(id = "sandbox"): FakePartner {
  const fp: FakePartner = {
    id,
    rails: ["instant", "batch"],
    submits: [],
    payments: [],
    script: [],
    status: "not_found",
    async submit(p) {
      fp.submits.push(p.idempotencyKey);
      fp.payments.push(p);
      const kind = fp.script.shift() ?? "accepted";
      switch (kind) {
        case "accepted":
          return { kind, partnerRef: `ref-${p.idempotencyKey}`, status: "submitted", raw: { ok: true }, httpStatus: 201 };
        case "rejected":
          return { kind, reason: "account closed", raw: { error: "closed" }, httpStatus: 422 };
        case "retryable":
          return { kind, reason: "HTTP 503", raw: null, httpStatus: 503 };
        case "unknown":
          return { kind, reason: "timed out", raw: null };
      }
    },
    async queryStatus(key): Promise<StatusOutcome> {
      if (fp.status === "unavailable") return { kind: "unavailable", reason: "HTTP 503", raw: null };
      return { kind: "ok", status: fp.status, partnerRef: fp.status === "not_found" ? null : `ref-${key}`, raw: { status: fp.status } };
    },
    verifyWebhook(): PartnerEvent {
      throw new Error("not used");
    },
    parseStoredEvent(): PartnerEvent {
      throw new Error("not used");
    },
    async fetchSettlementFile() {
      throw new Error("not used");
    },
  };
  return fp;
}

export function partnerEvent(idempotencyKey: string, type: PartnerEvent["type"], n: number): PartnerEvent {
  return { eventId: `evt-${idempotencyKey}-${type}-${n}`, partner: "sandbox", type, idempotencyKey, partnerRef: `ref-${idempotencyKey}`, occurredAt: new Date(), raw: {} };
}
