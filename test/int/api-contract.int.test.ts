/**
 * The API's contract under bad input, as an integrating service meets it: every mutating procedure
 * is driven through the real HTTP handler with arbitrary JSON, hostile strings (NUL, unpaired
 * surrogates, control characters, very long), odd numbers and extra fields. No answer is a 5xx,
 * every refusal is typed (an appCode and the HTTP status it maps to), and a refused request writes
 * nothing (a fingerprint of every table is unchanged). Also: unknown fields are refused by name, the
 * same account on both sides is refused everywhere, a hold that is already due is refused, and a
 * mutation without credentials is told 401 before anything else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import superjson from "superjson";
import { createTestDb, type TestDb } from "../support/test-db";
import { APP_ORIGIN, actorOf, httpHandler, makeUser, sessionCookieFor } from "./auth-test-helpers";
import { approveKeyActivation } from "./approvals-test-helpers";
import { createCaller, appRouter } from "../../server/api/root";
import { SERVICE_KEY_SCOPES, type Permission } from "../../server/core/permissions";
import type { Meta } from "../../server/api/trpc";
import { openAccount, fund } from "../../server/ledger/testing";
import { stopSender } from "../../server/jobs/queues";

let t: TestDb;
let handle: (req: Request) => Promise<Response>;
let bearer: Record<string, string>;
let session: Record<string, string>;
let approverSession: Record<string, string>;
let ids: { bank: string; wallet: string; other: string; usd: string };

/** Tables a refused request may touch by design, and why. */
const FINGERPRINT_EXCLUDED = new Set([
  "security_events", // refusals of credentials are recorded there on purpose
  "service_keys", // last_used_at moves on every authenticated call
  "totp_factors", // a wrong step-up code is counted in the transaction that refuses it
]);
let fingerprintSql = "";

beforeAll(async () => {
  t = await createTestDb({ poolMax: 20 });
  handle = httpHandler(t);
  // Admin and approver are never one person (separation of duties): two sessions.
  const admin = await makeUser(t, "contract.admin@test.local", ["admin", "operator"]);
  const approver = await makeUser(t, "contract.approver@test.local", ["approver"]);
  session = { "content-type": "application/json", origin: APP_ORIGIN, cookie: await sessionCookieFor(admin.id) };
  approverSession = { "content-type": "application/json", origin: APP_ORIGIN, cookie: await sessionCookieFor(approver.id) };
  const caller = createCaller({ db: t, actor: actorOf(admin), requestId: "setup", ip: null });
  const { secret, activationProposalId } = await caller.admin.serviceKeys.create({ name: "contract", scopes: [...SERVICE_KEY_SCOPES], reason: "API contract test" });
  // A key that can move money works once a second person approves its activation.
  await approveKeyActivation(t, activationProposalId);
  bearer = { "content-type": "application/json", authorization: `Bearer ${secret}` };
  const bank = await openAccount(t, { code: "bank:EUR", type: "asset" });
  const wallet = await openAccount(t, { code: "wallet:contract", type: "liability", isNoOverdraft: true });
  const other = await openAccount(t, { code: "wallet:other", type: "liability" });
  const usd = await openAccount(t, { code: "wallet:usd", type: "liability", currency: "USD" });
  await fund(t, bank.id, wallet.id, 10_000_000n);
  ids = { bank: bank.id, wallet: wallet.id, other: other.id, usd: usd.id };
  const tables = (await t.pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).rows
    .map((r) => r.tablename)
    .filter((n) => !FINGERPRINT_EXCLUDED.has(n) && !n.startsWith("_prisma"));
  fingerprintSql = `SELECT ${tables.map((n) => `(SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM "${n}" x) AS "${n}"`).join(", ")}`;
});
afterAll(async () => {
  await stopSender(t.pool);
  await t?.drop();
});

async function fingerprint(): Promise<Record<string, string>> {
  return (await t.pool.query<Record<string, string>>(fingerprintSql)).rows[0]!;
}

interface Answer {
  status: number;
  data?: unknown;
  error?: { message: string; data: { code: string; httpStatus: number; appCode: string | null; isRetryable: boolean; details: Record<string, unknown> | null; fieldErrors: { path: string; message: string }[] | null } };
}

/** The wire form of an input: superjson's, or, for what superjson refuses to write (a "__proto__" key), raw JSON as an attacker would send it. */
function wire(input: unknown): string {
  try {
    return JSON.stringify(superjson.serialize(input));
  } catch {
    return JSON.stringify({ json: input });
  }
}

async function call(path: string, input: unknown, headers: Record<string, string>): Promise<Answer> {
  const res = await handle(new Request(`${APP_ORIGIN}/api/trpc/${path}`, { method: "POST", headers, body: wire(input) }));
  const body = (await res.json()) as { result?: { data: Parameters<typeof superjson.deserialize>[0] }; error?: { json: Answer["error"] } };
  if (body.result) return { status: res.status, data: superjson.deserialize(body.result.data) };
  return { status: res.status, error: body.error!.json };
}

const mutations = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string; meta?: Meta } }>)
  .filter(([, p]) => p._def.type === "mutation")
  .map(([path, p]) => ({ path, permission: p._def.meta!.permission }))
  .sort((a, b) => a.path.localeCompare(b.path));

function headersFor(permission: Meta["permission"]): Record<string, string> {
  if (permission === "adjustments:approve") return approverSession;
  return permission !== "authenticated" && SERVICE_KEY_SCOPES.includes(permission as Permission) ? bearer : session;
}

/** A plausible input per procedure, so mutations of it reach the domain, not only the schema. */
function baseInput(path: string): Record<string, unknown> {
  const key = `fuzz-${randomUUID()}`;
  const transfer = { debitAccountId: ids.wallet, creditAccountId: ids.bank, amountMinor: "1", currency: "EUR", description: "fuzz", metadata: { a: "b" } };
  const bases: Record<string, Record<string, unknown>> = {
    "ledger.transfer": { ...transfer, idempotencyKey: key },
    "ledger.entries.post": { postings: [{ accountId: ids.wallet, side: "debit", amountMinor: "1", currency: "EUR" }, { accountId: ids.bank, side: "credit", amountMinor: "1", currency: "EUR" }], description: "fuzz", idempotencyKey: key },
    "ledger.holds.place": { debitAccountId: ids.wallet, creditAccountId: ids.bank, amountMinor: "1", currency: "EUR", expiresAt: new Date(Date.now() + 3600_000), idempotencyKey: key },
    "ledger.batch": { items: [{ type: "transfer", ...transfer }], idempotencyKey: key },
    "ledger.accounts.create": { code: `fuzz:${randomUUID()}`, name: "Fuzz", currency: "EUR", type: "liability", metadata: { k: "v" }, idempotencyKey: key },
    "ledger.accounts.freeze": { accountId: ids.other, reason: "fuzzing", idempotencyKey: key },
    "transfers.create": { sourceAccountId: ids.wallet, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "1", currency: "EUR", rail: "instant", reference: "fuzz", metadata: { a: 1 }, idempotencyKey: key },
    "admin.users.create": { email: `fuzz-${randomUUID()}@test.local`, name: "Fuzz", roles: ["viewer"] },
    "approvals.propose": { kind: "journal_entry", payload: { description: "fuzz", postings: [{ accountCode: "wallet:other", side: "debit", amount: "0.01", currency: "EUR" }, { accountCode: "bank:EUR", side: "credit", amount: "0.01", currency: "EUR" }] }, reason: "fuzz", idempotencyKey: key },
  };
  return structuredClone(bases[path] ?? {});
}

const hostileString = fc.oneof(
  fc.constantFrom("\u0000", "a\u0000b", "\ud800", "x\udfffy", "\u0007bell", "\u001b[31m", "\u0085", "\u007f", "x".repeat(70_000), "", " ", "🙂"),
  fc.string({ unit: "binary", maxLength: 40 }),
);
const oddNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 2 ** 63, Number.MAX_SAFE_INTEGER + 2, 0.1, -1));

type Mutation =
  | { kind: "replace-all"; value: unknown }
  | { kind: "string-leaf"; pick: number; value: string }
  | { kind: "leaf"; pick: number; value: unknown }
  | { kind: "extra"; pick: number; name: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("replace-all" as const), value: fc.jsonValue() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("string-leaf" as const), pick: fc.nat(), value: hostileString }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("leaf" as const), pick: fc.nat(), value: fc.oneof(hostileString, oddNumber, fc.constant(null), fc.jsonValue()) }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("extra" as const), pick: fc.nat(), name: fc.oneof(fc.constantFrom("expectedVersion", "__proto__x", "\u0000", "\ud800", "admin"), fc.string({ maxLength: 12 })), value: fc.oneof(hostileString, fc.jsonValue()) }),
    weight: 2,
  },
);

/** Every object and leaf position in `v`, as setters, in a stable order. */
function slots(v: unknown): { objects: Record<string, unknown>[]; leaves: ((x: unknown) => void)[]; stringLeaves: ((x: unknown) => void)[] } {
  const objects: Record<string, unknown>[] = [];
  const leaves: ((x: unknown) => void)[] = [];
  const stringLeaves: ((x: unknown) => void)[] = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== "object" || node instanceof Date) return;
    const rec = node as Record<string, unknown>;
    if (!Array.isArray(node)) objects.push(rec);
    for (const k of Object.keys(rec)) {
      const child = rec[k];
      if (child !== null && typeof child === "object" && !(child instanceof Date)) walk(child);
      else {
        leaves.push((x) => (rec[k] = x));
        if (typeof child === "string") stringLeaves.push((x) => (rec[k] = x));
      }
    }
  };
  walk(v);
  return { objects, leaves, stringLeaves };
}

function applyMutation(base: Record<string, unknown>, m: Mutation): unknown {
  if (m.kind === "replace-all") return m.value;
  const { objects, leaves, stringLeaves } = slots(base);
  if (m.kind === "string-leaf") {
    if (stringLeaves.length > 0) stringLeaves[m.pick % stringLeaves.length]!(m.value);
    return base;
  }
  if (m.kind === "leaf") {
    if (leaves.length > 0) leaves[m.pick % leaves.length]!(m.value);
    return base;
  }
  const target = objects.length > 0 ? objects[m.pick % objects.length]! : base;
  Object.defineProperty(target, m.name, { value: m.value, enumerable: true, configurable: true, writable: true });
  return base;
}

describe("every mutation through HTTP, with hostile input", () => {
  it("never answers 5xx, types every refusal, and a refusal writes nothing", async () => {
    expect(mutations.length).toBeGreaterThan(20);
    const withBase = mutations.filter((m) => Object.keys(baseInput(m.path)).length > 0);
    expect(withBase.length).toBe(9);
    const seen = new Map<string, Set<number>>();
    await fc.assert(
      // Procedures with a plausible base input are drawn more often: their mutations reach the domain.
      fc.asyncProperty(fc.oneof({ arbitrary: fc.constantFrom(...withBase), weight: 3 }, { arbitrary: fc.constantFrom(...mutations), weight: 1 }), mutation, async (proc, m) => {
        const input = applyMutation(baseInput(proc.path), m);
        const before = await fingerprint();
        const answer = await call(proc.path, input, headersFor(proc.permission));
        (seen.get(proc.path) ?? seen.set(proc.path, new Set()).get(proc.path)!).add(answer.status);
        expect(answer.status, `${proc.path} ${JSON.stringify(answer.error)}`).toBeLessThan(500);
        if (answer.status >= 400) {
          expect(answer.error?.data.appCode, `${proc.path}: untyped refusal ${JSON.stringify(answer.error)}`).toMatch(/^[A-Z_]+$/);
          expect(answer.error?.data.httpStatus).toBe(answer.status);
          expect(await fingerprint(), `${proc.path} refused with ${answer.error?.data.appCode} but wrote`).toEqual(before);
        }
      }),
      { numRuns: 400 },
    );
    // The property reached the domain, not only the schema: some plausible inputs succeeded.
    expect([...seen.values()].some((s) => s.has(200))).toBe(true);
  }, 240_000);

  it.each([
    ["a NUL in a description", "ledger.transfer", { description: "pay\u0000ment" }, "description"],
    ["an unpaired surrogate in a description", "ledger.transfer", { description: "\ud800" }, "description"],
    ["a NUL in a metadata value", "ledger.transfer", { metadata: { note: "a\u0000" } }, "metadata.note"],
    ["an unpaired surrogate in a metadata key", "ledger.transfer", { metadata: { ["k\udc00"]: "v" } }, "metadata"],
    ["a NUL in an account name", "ledger.accounts.create", { name: "Acme\u0000" }, "name"],
    ["a control character in a counterparty name", "transfers.create", { counterpartyName: "Jane\u0007" }, "counterpartyName"],
  ])("refuses %s with a typed 400 naming the field", async (_label, path, patch, field) => {
    const before = await fingerprint();
    const a = await call(path, { ...baseInput(path), ...patch }, bearer);
    expect(a.status).toBe(400);
    expect(a.error!.data.appCode).toBe("BAD_INPUT");
    expect(a.error!.data.fieldErrors?.[0]?.path).toContain(field);
    expect(await fingerprint()).toEqual(before);
  });

  it("refuses unknown fields by name, at the top and nested, in every mutation", async () => {
    const typo = await call("ledger.transfer", { ...baseInput("ledger.transfer"), expectedVersion: { [ids.wallet]: "0" } }, bearer);
    expect(typo.status).toBe(400);
    expect(typo.error!.message).toContain('Unrecognized key: "expectedVersion"');
    const nested = baseInput("ledger.entries.post");
    (nested.postings as Record<string, unknown>[])[0]!.memo = "x";
    const inner = await call("ledger.entries.post", nested, bearer);
    expect(inner.status).toBe(400);
    expect(inner.error!.message).toMatch(/postings\.0.*Unrecognized key: "memo"/);
    for (const { path, permission } of mutations) {
      const a = await call(path, { ...baseInput(path), unexpectedField: 1 }, headersFor(permission));
      expect(a.status, path).toBe(400);
      expect(a.error!.message, path).toContain("unexpectedField");
    }
  });

  it("refuses the same account on both sides for transfers, entries, holds and batch items alike", async () => {
    const same = { debitAccountId: ids.other, creditAccountId: ids.other, amountMinor: "5", currency: "EUR" };
    const answers = [
      await call("ledger.transfer", { ...same, idempotencyKey: randomUUID() }, bearer),
      await call("ledger.holds.place", { ...same, expiresAt: new Date(Date.now() + 60_000), idempotencyKey: randomUUID() }, bearer),
      await call("ledger.entries.post", { postings: [{ accountId: ids.other, side: "debit", amountMinor: "5", currency: "EUR" }, { accountId: ids.other, side: "credit", amountMinor: "5", currency: "EUR" }], idempotencyKey: randomUUID() }, bearer),
      await call("ledger.batch", { items: [{ type: "transfer", ...same }], idempotencyKey: randomUUID() }, bearer),
    ];
    for (const a of answers.slice(0, 3)) {
      expect(a.status).toBe(400);
      expect(a.error!.data.appCode).toBe("BAD_INPUT");
      expect(a.error!.message).toContain(`cannot debit and credit the same account ${ids.other}`);
    }
    // A batch names the failing item, as for every other item error.
    expect(answers[3]!.error!.data).toMatchObject({ appCode: "BATCH_ITEM_FAILED", details: { index: 0, code: "BAD_INPUT" } });
    expect(answers[3]!.error!.message).toContain(`cannot debit and credit the same account ${ids.other}`);
  });

  it("refuses a hold that is already due, and places nothing", async () => {
    const before = await fingerprint();
    const a = await call("ledger.holds.place", { ...baseInput("ledger.holds.place"), expiresAt: new Date(Date.now() - 3600_000) }, bearer);
    expect(a.status).toBe(422);
    expect(a.error!.data.appCode).toBe("HOLD_EXPIRED");
    expect(await fingerprint()).toEqual(before);
  });
});

describe("authentication is judged first", () => {
  it.each([
    ["no credentials at all", { "content-type": "application/json" }],
    ["no credentials, cross-site", { "content-type": "application/json", origin: "https://evil.example" }],
    ["no credentials, form-encoded", { "content-type": "application/x-www-form-urlencoded" }],
    ["an expired or foreign session cookie", { "content-type": "application/json", cookie: "next-auth.session-token=not-a-jwt" }],
  ])("a mutation with %s gets 401 in the common error shape", async (_label, headers) => {
    const res = await handle(new Request(`${APP_ORIGIN}/api/trpc/ledger.transfer`, { method: "POST", headers, body: "{}" }));
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { json: { message: string; data: { code: string; httpStatus: number; appCode: string } } } };
    expect(body.error.json.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401, appCode: "UNAUTHENTICATED" });
  });

  it("a 405 carries the same error shape as any other error", async () => {
    const res = await handle(new Request(`${APP_ORIGIN}/api/trpc/ledger.transfer`, { method: "PUT", headers: bearer, body: "{}" }));
    expect(res.status).toBe(405);
    const body = (await res.json()) as { error: { json: { message: string; code: number; data: { code: string; httpStatus: number } } } };
    expect(body.error.json).toMatchObject({ code: -32005, data: { code: "METHOD_NOT_SUPPORTED", httpStatus: 405 } });
  });

  it("a signed-in browser mutation from another origin is still refused by the CSRF rule", async () => {
    const res = await handle(new Request(`${APP_ORIGIN}/api/trpc/ledger.accounts.freeze`, { method: "POST", headers: { ...session, origin: "https://evil.example" }, body: "{}" }));
    expect(res.status).toBe(403);
  });
});
