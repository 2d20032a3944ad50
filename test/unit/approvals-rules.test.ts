// The pure rules of approvals: how many approvers an amount needs, exact threshold parsing, the
// amount a preview moves, how a later preview differs from the proposer's, evidence checks, and
// the inbox's time labels.
import { describe, expect, it } from "vitest";
import { requiredApprovalsFor, parseThresholds, checkExpiryHours } from "../../server/approvals/policy";
import { amountsOf, diffPreviews } from "../../server/approvals/preview";
import { checkEvidenceFile, checkEvidenceUrl, safeFileName } from "../../server/approvals/evidence";
import { previewFromJson, previewToJson, type Preview } from "../../server/approvals/types";
import { formatDeadline, formatDuration, readInboxParams } from "../../components/approvals/approvals-params";
import { defineControlKind } from "../../server/approvals/kinds";
import { adjustmentKinds } from "../../server/composition";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { z } from "zod";

const thresholds = new Map([
  ["EUR", 1_000_000n],
  ["JPY", 1_000_000n],
]);

describe("requiredApprovalsFor", () => {
  it.each([
    ["below the threshold", [{ currency: "EUR", amountMinor: 999_999n }], 1],
    ["at the threshold", [{ currency: "EUR", amountMinor: 1_000_000n }], 2],
    ["above the threshold", [{ currency: "JPY", amountMinor: 5_000_000n }], 2],
    ["a currency without a threshold", [{ currency: "USD", amountMinor: 1n }], 2],
    ["one of two currencies at its threshold", [{ currency: "EUR", amountMinor: 1n }, { currency: "JPY", amountMinor: 1_000_000n }], 2],
    ["two currencies below", [{ currency: "EUR", amountMinor: 1n }, { currency: "JPY", amountMinor: 999_999n }], 1],
    ["no money moved", [], 1],
  ] as const)("%s: %s", (_name, amounts, expected) => {
    expect(requiredApprovalsFor(amounts, thresholds)).toBe(expected);
  });
});

describe("parseThresholds", () => {
  it("parses exact decimals per currency into minor units", () => {
    expect(parseThresholds({ EUR: "10000.00", JPY: "1000000", BHD: "5.125" })).toEqual({ EUR: "1000000", JPY: "1000000", BHD: "5125" });
  });
  it.each([
    [{ EUR: "8.855" }, "INVALID_AMOUNT"],
    [{ EUR: "0" }, "INVALID_AMOUNT"],
    [{ EUR: "-5" }, "INVALID_AMOUNT"],
    [{ EUR: "1e6" }, "INVALID_AMOUNT"],
    [{ XXX: "5" }, "UNKNOWN_CURRENCY"],
  ])("refuses %o with %s", (input, code) => {
    expect(() => parseThresholds(input)).toThrow(expect.objectContaining({ code }));
  });
  it("bounds the expiry", () => {
    expect(checkExpiryHours(null)).toBeNull();
    expect(checkExpiryHours(24)).toBe(24);
    for (const bad of [0, 721, 1.5]) expect(() => checkExpiryHours(bad)).toThrow(expect.objectContaining({ code: "BAD_INPUT" }));
  });
});

function preview(overrides: Partial<Preview> = {}): Preview {
  return {
    computedAt: new Date("2026-11-21T10:00:00Z"),
    entries: [
      {
        description: "fix",
        reversesEntryId: null,
        postings: [
          { accountId: "a", accountCode: "bank:EUR", side: "debit", amountMinor: 1250n, currency: "EUR" },
          { accountId: "b", accountCode: "customer:1", side: "credit", amountMinor: 1250n, currency: "EUR" },
        ],
      },
    ],
    holds: [],
    balances: [
      { accountId: "b", accountCode: "customer:1", currency: "EUR", isNoOverdraft: true, before: { postedMinor: 100n, pendingMinor: 0n, availableMinor: 100n }, after: { postedMinor: 1350n, pendingMinor: 0n, availableMinor: 1350n } },
    ],
    changes: [],
    error: null,
    ...overrides,
  };
}

describe("previews", () => {
  it("the amount moved is the sum of debits per currency; holds count only where nothing is posted", () => {
    expect(amountsOf(preview())).toEqual([{ currency: "EUR", amountMinor: 1250n }]);
    expect(amountsOf(preview({ entries: [], holds: [{ holdId: "h", status: "voided", amountMinor: 70n, currency: "GBP" }] }))).toEqual([{ currency: "GBP", amountMinor: 70n }]);
  });

  it("round-trips through its stored JSON exactly", () => {
    const p = preview();
    expect(previewFromJson(JSON.parse(JSON.stringify(previewToJson(p))))).toEqual(p);
  });

  it("finds no difference between equal previews", () => {
    expect(diffPreviews(preview(), preview({ computedAt: new Date() }))).toEqual({ isStale: false, differences: [] });
  });

  it("names a moved balance with both amounts, and a refusal first", () => {
    const moved = preview({ balances: [{ ...preview().balances[0]!, before: { postedMinor: 50n, pendingMinor: 0n, availableMinor: 20n }, after: { postedMinor: 1300n, pendingMinor: 0n, availableMinor: 1270n } }] });
    const d = diffPreviews(preview(), moved);
    expect(d.isStale).toBe(true);
    expect(d.differences).toEqual([
      "customer:1: posted balance is 0.50 EUR now, 1.00 EUR when proposed (after approval: 13.00 EUR).",
      "customer:1: available balance is 0.20 EUR now, 1.00 EUR when proposed (after approval: 12.70 EUR).",
    ]);
    const refused = diffPreviews(preview(), preview({ entries: [], balances: [], error: { code: "ACCOUNT_FROZEN", message: "account customer:1 is frozen" } }));
    expect(refused.differences[0]).toBe("Approving now would fail: ACCOUNT_FROZEN: account customer:1 is frozen");
  });
});

describe("evidence", () => {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
  it("accepts documents whose bytes match their type", () => {
    expect(checkEvidenceFile({ fileName: "statement.pdf", contentType: "application/pdf", contentBase64: b64("%PDF-1.7\n...") }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(checkEvidenceFile({ fileName: "note.txt", contentType: "text/plain", contentBase64: b64("Ticket OPS-1 ✓") }).contentType).toBe("text/plain");
  });
  it.each([
    ["an HTML page", { fileName: "x.html", contentType: "text/html", contentBase64: b64("<script>") }, /must be one of/],
    ["HTML named as PDF", { fileName: "x.pdf", contentType: "application/pdf", contentBase64: b64("<html>") }, /not application\/pdf/],
    ["binary named as text", { fileName: "x.txt", contentType: "text/plain", contentBase64: b64(Buffer.from([0, 1, 2])) }, /not text\/plain/],
    ["an empty file", { fileName: "x.txt", contentType: "text/plain", contentBase64: "" }, /empty/],
    ["too large", { fileName: "x.txt", contentType: "text/plain", contentBase64: b64(Buffer.alloc(1024 * 1024 + 1, 97)) }, /larger than|at most/],
    ["not base64", { fileName: "x.txt", contentType: "text/plain", contentBase64: "@@@" }, /base64/],
  ])("refuses %s", (_n, input, message) => {
    expect(() => checkEvidenceFile(input)).toThrow(message);
  });
  it("keeps a safe base name", () => {
    expect(safeFileName("../../etc/passwd")).toBe("passwd");
    expect(safeFileName('C:\\x\\"a<b>.pdf')).toBe("ab.pdf");
    expect(safeFileName("\u0000\u0007")).toBe("evidence");
  });
  it("accepts http(s) links only", () => {
    expect(checkEvidenceUrl(" https://tickets.example.com/OPS-1 ")).toBe("https://tickets.example.com/OPS-1");
    for (const bad of ["javascript:alert(1)", "ftp://x", "not a url", `https://x/${"a".repeat(2001)}`]) expect(() => checkEvidenceUrl(bad)).toThrow(expect.objectContaining({ code: "BAD_INPUT" }));
  });
});

describe("inbox labels and URL state", () => {
  it.each([
    [30_000, "under a minute"],
    [42 * 60_000, "42 min"],
    [(5 * 60 + 12) * 60_000, "5 h 12 min"],
    [3 * 86_400_000 + 4 * 3_600_000, "3 d 4 h"],
    [2 * 86_400_000, "2 d"],
  ])("%i ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
  it("says when a deadline is ahead or past", () => {
    const now = new Date("2026-11-21T10:00:00Z");
    expect(formatDeadline(new Date("2026-11-21T12:00:00Z"), now)).toBe("in 2 h");
    expect(formatDeadline(new Date("2026-11-21T09:00:00Z"), now)).toBe("1 h ago");
  });
  it("defaults the tab by role and drops unknown values", () => {
    expect(readInboxParams({}, true)).toEqual({ view: "waiting_for_me" });
    expect(readInboxParams({}, false)).toEqual({ view: "mine" });
    expect(readInboxParams({ view: "waiting_for_me", status: "bogus" }, false)).toEqual({ view: "mine" });
    expect(readInboxParams({ view: "all", status: "applied", cursor: "c" }, false)).toEqual({ view: "all", status: "applied", cursor: "c" });
  });
});

describe("control kinds (defineControlKind)", () => {
  const kind = defineControlKind<{ id: string }>({
    kind: "test_control",
    label: "A control",
    proposePermission: "accounts:manage",
    payloadSchema: z.object({ id: z.string() }),
    describe: (p) => `change ${p.id}`,
    links: () => [],
    apply: async (_client, p, ctx) => ({ id: p.id, proposalId: ctx.proposalId }),
  });
  const ctx = { proposalId: "p1", now: new Date(0), actor: SYSTEM_ACTOR, idempotencyKey: "adjustment:p1", requestId: null, command: null };

  it("moves no money, needs one approval, and stores what apply returns with no entries", async () => {
    expect(await kind.toLedgerCommand(null as never, { id: "a" }, ctx)).toBeNull();
    expect(kind.requiredApprovals?.({ id: "a" })).toBe(1);
    expect(await kind.apply?.(null as never, { id: "a" }, ctx)).toEqual({ entryIds: [], result: { id: "a", proposalId: "p1" } });
  });

  it("the registry's kinds with a fixed single approval are the eight control kinds", async () => {
    const control = adjustmentKinds.list().map((k) => adjustmentKinds.get(k.kind)).filter((k) => k.requiredApprovals?.({}) === 1);
    expect(control.map((k) => k.kind).sort()).toEqual(["account_unfreeze", "fee_schedule_version", "fx_manual_rate", "fx_spread_change", "policy_change", "recon_period_reopen", "recon_rule_set_activation", "service_key_activation"]);
  });
});
