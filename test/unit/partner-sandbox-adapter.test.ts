// The sandbox adapter's mapping from HTTP to outcomes (server/partners/sandbox-adapter.ts), with an
// injected fetch: what each status code and network failure means, what is sent, webhook
// verification in check order, and settlement files parsed exactly.
import { describe, expect, it } from "vitest";
import { createSandboxAdapter, parseSandboxEvent } from "../../server/partners/sandbox-adapter";
import { signPayload } from "../../server/core/signature";
import { WebhookRejected, type PartnerPayment } from "../../server/partners/types";
import { createPartnerRegistry } from "../../server/partners/registry";

const SECRET = "whsec_unit_0123456789";
const payment: PartnerPayment = {
  transferId: "3f0c6c1e-0000-4000-8000-000000000001",
  idempotencyKey: "tr-key-1",
  rail: "instant",
  amountMinor: 9007199254740993n,
  currency: "EUR",
  counterpartyName: "Ada",
  counterpartyAccount: "DE89370400440532013000",
  reference: "Invoice 7",
};
const paymentBody = (over: Record<string, unknown> = {}) => ({
  id: "sbx_abc",
  idempotency_key: "tr-key-1",
  status: "acknowledged",
  amount_minor: "9007199254740993",
  currency: "EUR",
  ...over,
});

type FetchFn = typeof fetch;
function adapterWith(fetchImpl: FetchFn) {
  return createSandboxAdapter({ baseUrl: "http://sandbox.test", webhookSecrets: [SECRET], toleranceSeconds: 300, timeoutMs: { instant: 2000, batch: 5000 }, fetch: fetchImpl });
}
const respond = (status: number, body: unknown): FetchFn => async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
const fail = (err: unknown): FetchFn => async () => {
  throw err;
};
/** A network error as fetch reports it: a TypeError whose cause has the code and the system call that failed. */
const netError = (code: string, syscall = code === "ENOTFOUND" ? "getaddrinfo" : "connect") =>
  Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(code), { code, syscall }) });
const signal = () => new AbortController().signal;

describe("submit", () => {
  it("sends the idempotency key, the amount as an integer string and the rail", async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const adapter = adapterWith(async (url, init) => {
      seen = { url: String(url), init: init! };
      return new Response(JSON.stringify(paymentBody()), { status: 201 });
    });
    await adapter.submit(payment, signal());
    expect(seen!.url).toBe("http://sandbox.test/v1/payments");
    expect((seen!.init.headers as Record<string, string>)["idempotency-key"]).toBe("tr-key-1");
    expect(JSON.parse(seen!.init.body as string)).toEqual({
      transfer_id: payment.transferId,
      rail: "instant",
      amount_minor: "9007199254740993",
      currency: "EUR",
      counterparty: { name: "Ada", account: "DE89370400440532013000" },
      reference: "Invoice 7",
    });
    expect(seen!.init.signal).toBeInstanceOf(AbortSignal);
  });

  it.each<[string, FetchFn, string, Record<string, unknown>]>([
    ["201 acknowledged", respond(201, paymentBody()), "accepted", { partnerRef: "sbx_abc", status: "acknowledged", httpStatus: 201 }],
    ["201 submitted (batch)", respond(201, paymentBody({ status: "submitted" })), "accepted", { status: "submitted" }],
    ["200 replay of a settled payment", respond(200, paymentBody({ status: "settled" })), "accepted", { status: "acknowledged", httpStatus: 200 }],
    ["201 with an unreadable body", respond(201, "<html>"), "unknown", {}],
    ["201 for another key", respond(201, paymentBody({ idempotency_key: "other" })), "unknown", {}],
    ["409 key conflict", respond(409, { error: { code: "idempotency_key_conflict", message: "used" } }), "rejected", { httpStatus: 409 }],
    ["400 invalid", respond(400, { error: { code: "invalid_request", message: "bad" } }), "rejected", { reason: "invalid_request: bad" }],
    ["422 refused account", respond(422, { error: { code: "beneficiary_account_invalid", message: "closed" } }), "rejected", { httpStatus: 422 }],
    ["408 request timeout", respond(408, ""), "retryable", { httpStatus: 408 }],
    ["429 throttled", respond(429, ""), "retryable", { httpStatus: 429 }],
    ["500 internal error", respond(500, { error: { code: "internal_error", message: "boom" } }), "retryable", { httpStatus: 500 }],
    ["502 bad gateway", respond(502, ""), "retryable", { httpStatus: 502 }],
    ["503 outage", respond(503, { error: { code: "service_unavailable", message: "down" } }), "retryable", { httpStatus: 503 }],
    ["504 gateway timeout", respond(504, ""), "unknown", {}],
    ["302 redirect", respond(302, ""), "unknown", {}],
    ["connection refused", fail(netError("ECONNREFUSED")), "retryable", { httpStatus: null }],
    ["DNS failure", fail(netError("ENOTFOUND")), "retryable", { httpStatus: null }],
    ["connection reset mid-request", fail(netError("ECONNRESET")), "unknown", {}],
    ["refused on a socket already in use", fail(netError("ECONNREFUSED", "read")), "unknown", {}],
    ["host unreachable after the request was written", fail(netError("EHOSTUNREACH", "write")), "unknown", {}],
    ["host unreachable while connecting", fail(netError("EHOSTUNREACH")), "retryable", { httpStatus: null }],
    ["a refused code with no system call", fail(Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) })), "unknown", {}],
    ["no connection within undici's connect limit", fail(netError("UND_ERR_CONNECT_TIMEOUT", "")), "retryable", { httpStatus: null }],
    ["socket closed by the server", fail(netError("UND_ERR_SOCKET")), "unknown", {}],
    ["our time limit", fail(new DOMException("timed out", "TimeoutError")), "unknown", { reason: "no answer within 2000 ms" }],
    ["caller abort in flight", fail(new DOMException("aborted", "AbortError")), "unknown", {}],
  ])("%s -> %s", async (_name, fetchImpl, kind, extra) => {
    const outcome = await adapterWith(fetchImpl).submit(payment, signal());
    expect(outcome.kind).toBe(kind);
    expect(outcome).toMatchObject(extra);
  });

  it("a caller who gave up mid-call gets unknown, even when the error that ended the call looks like a refused connection", async () => {
    const ctl = new AbortController();
    const outcome = await adapterWith(async () => {
      ctl.abort();
      throw netError("ECONNREFUSED");
    }).submit(payment, ctl.signal);
    expect(outcome).toMatchObject({ kind: "unknown", reason: "aborted by the caller while the request was in flight" });
  });

  it("does not send when the caller has already aborted, and says so (retryable: nothing left)", async () => {
    let isCalled = false;
    const ctl = new AbortController();
    ctl.abort();
    const outcome = await adapterWith(async () => {
      isCalled = true;
      return new Response("{}", { status: 201 });
    }).submit(payment, ctl.signal);
    expect(isCalled).toBe(false);
    expect(outcome).toMatchObject({ kind: "retryable", reason: "aborted by the caller before sending" });
  });

  it("refuses to read a huge response body and treats the outcome as unknown", async () => {
    const outcome = await adapterWith(respond(201, "x".repeat(70 * 1024))).submit(payment, signal());
    expect(outcome.kind).toBe("unknown");
  });
});

describe("queryStatus", () => {
  it.each<[string, FetchFn, Record<string, unknown>]>([
    ["200 settled", respond(200, paymentBody({ status: "settled" })), { kind: "ok", status: "settled", partnerRef: "sbx_abc" }],
    ["200 returned", respond(200, paymentBody({ status: "returned" })), { kind: "ok", status: "returned" }],
    ["404", respond(404, { error: { code: "not_found", message: "none" } }), { kind: "ok", status: "not_found", partnerRef: null }],
    ["503", respond(503, ""), { kind: "unavailable" }],
    ["200 for another key", respond(200, paymentBody({ idempotency_key: "x" })), { kind: "unavailable" }],
    ["refused", fail(netError("ECONNREFUSED")), { kind: "unavailable" }],
  ])("%s", async (_name, fetchImpl, expected) => {
    expect(await adapterWith(fetchImpl).queryStatus("tr-key-1", signal())).toMatchObject(expected);
  });

  it("escapes the key in the query string", async () => {
    let url = "";
    await adapterWith(async (u) => {
      url = String(u);
      return new Response("", { status: 404 });
    }).queryStatus("a&b=c d", signal());
    expect(url).toBe("http://sandbox.test/v1/payments?idempotency_key=a%26b%3Dc%20d");
  });
});

describe("verifyWebhook", () => {
  const now = new Date("2026-11-21T12:00:00Z");
  const body = JSON.stringify({
    id: "evt_1",
    type: "payment.settled",
    created_at: now.toISOString(),
    data: { payment_id: "sbx_abc", idempotency_key: "tr-key-1", occurred_at: "2026-11-21T11:59:59.000Z", reason: null, amount_minor: "885" },
  });
  const headers = (over: Record<string, string | null> = {}) => {
    const h = new Headers({ "x-signature": signPayload(SECRET, body, now), "x-event-id": "evt_1" });
    for (const [k, v] of Object.entries(over)) {
      if (v === null) h.delete(k);
      else h.set(k, v);
    }
    return h;
  };
  const adapter = adapterWith(respond(500, ""));
  const rejection = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(WebhookRejected);
      return { reason: (e as WebhookRejected).reason, status: (e as WebhookRejected).httpStatus };
    }
    throw new Error("expected a rejection");
  };

  it("returns the parsed event for a valid signature", () => {
    expect(adapter.verifyWebhook(headers(), body, now)).toEqual({
      eventId: "evt_1",
      partner: "sandbox",
      type: "settled",
      idempotencyKey: "tr-key-1",
      partnerRef: "sbx_abc",
      occurredAt: new Date("2026-11-21T11:59:59.000Z"),
      raw: JSON.parse(body),
    });
  });

  it.each<[string, Record<string, string | null>, string, Date, string, number]>([
    ["a tampered body", {}, body.replace("sbx_abc", "sbx_abd"), now, "mismatch", 401],
    ["a missing signature", { "x-signature": null }, body, now, "missing", 401],
    ["a wrong secret", { "x-signature": signPayload("whsec_other_000000000", body, now) }, body, now, "mismatch", 401],
    ["a stale timestamp", {}, body, new Date(now.getTime() + 301_000), "stale", 401],
    ["a malformed header", { "x-signature": "v1=abc" }, body, now, "malformed", 401],
    ["a missing x-event-id", { "x-event-id": null }, body, now, "missing_event_id", 400],
    ["an x-event-id different from the body", { "x-event-id": "evt_2" }, body, now, "event_id_mismatch", 400],
  ])("refuses %s", (_name, over, rawBody, at, reason, status) => {
    expect(rejection(() => adapter.verifyWebhook(headers(over), rawBody, at))).toEqual({ reason, status });
  });

  it("checks the signature before anything in the body: a signed non-event is 400, an unsigned one 401", () => {
    const junk = "not json";
    const signed = new Headers({ "x-signature": signPayload(SECRET, junk, now), "x-event-id": "evt_1" });
    expect(rejection(() => adapter.verifyWebhook(signed, junk, now))).toEqual({ reason: "invalid_payload", status: 400 });
    expect(rejection(() => adapter.verifyWebhook(new Headers({ "x-event-id": "evt_1" }), junk, now))).toEqual({ reason: "missing", status: 401 });
  });
});

describe("parseSandboxEvent", () => {
  const event = (over: Record<string, unknown>, data: Record<string, unknown> = {}) =>
    JSON.stringify({ id: "evt_1", type: "payment.failed", created_at: "2026-11-21T12:00:00Z", data: { payment_id: "sbx_1", idempotency_key: "k", occurred_at: "2026-11-21T12:00:00Z", reason: "beneficiary_account_closed", ...data }, ...over });

  it("keeps the partner's reason", () => {
    expect(parseSandboxEvent(event({}))).toMatchObject({ type: "failed", reason: "beneficiary_account_closed" });
  });

  it.each([
    ["an unknown type", event({ type: "payment.exploded" })],
    ["an over-long event id", event({ id: "e".repeat(129) })],
    ["an event id with spaces", event({ id: "evt 1" })],
    ["a missing idempotency key", event({}, { idempotency_key: undefined })],
    ["a bad occurred_at", event({}, { occurred_at: "yesterday" })],
    ["an array", "[]"],
  ])("refuses %s", (_name, raw) => {
    expect(() => parseSandboxEvent(raw)).toThrow(WebhookRejected);
  });
});

describe("fetchSettlementFile", () => {
  it("parses the file exactly", async () => {
    const csv = "partner_ref,idempotency_key,reference,amount_minor,currency,status,value_date\nsbx_1,k,r,9007199254740993,EUR,settled,2026-11-21\n";
    const file = await adapterWith(respond(200, csv)).fetchSettlementFile("batch", "2026-11-21", signal());
    expect(file.lines[0]!.amountMinor).toBe(9007199254740993n);
  });

  it.each<[string, FetchFn, string]>([
    ["a broken file", respond(200, "nonsense"), "PARTNER_RESPONSE_INVALID"],
    ["an outage", respond(503, ""), "PARTNER_UNAVAILABLE"],
    ["no connection", fail(netError("ECONNREFUSED")), "PARTNER_UNAVAILABLE"],
  ])("throws a typed error on %s", async (_name, fetchImpl, code) => {
    await expect(adapterWith(fetchImpl).fetchSettlementFile("batch", "2026-11-21", signal())).rejects.toMatchObject({ code });
  });

  it("refuses a malformed date without calling", async () => {
    await expect(adapterWith(respond(200, "")).fetchSettlementFile("batch", "2026/11/21", signal())).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});

describe("registry", () => {
  it("knows the sandbox and refuses anything else with NOT_FOUND", () => {
    const registry = createPartnerRegistry();
    expect(registry.adapterFor("sandbox").id).toBe("sandbox");
    expect(registry.adapterFor("sandbox")).toBe(registry.adapterFor("sandbox"));
    expect(() => registry.adapterFor("acme-bank")).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
  });
});
