// The recon.* API through the tRPC caller, one session per role: import a statement (base64, size
// limit), runs and their series, the breaks queue and CSV export, a manual match, four-eyes
// proposals, sources and rules for admins only, and the typed errors callers see.
import { randomUUID } from "node:crypto";
import { type TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { createTestDb, type TestDb } from "../support/test-db";
import { callerAs, person, serviceKey } from "./approvals-test-helpers";
import { randomIban, statementXml } from "./recon-test-helpers";

let db: TestDb;
const admin = person("adam", ["admin"]);
const operator = person("opal", ["operator"]);
const viewer = person("vic", ["viewer"]);
const importer = serviceKey("bank-feed", ["recon:read", "recon:operate"]);

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => db.drop());

const k = () => `test:${randomUUID()}`;

function trpcCode(e: unknown): { code: string; appCode: string | null } {
  const err = e as TRPCError & { cause?: { code?: string } };
  return { code: err.code, appCode: err.cause?.code ?? null };
}

async function failure(p: Promise<unknown>) {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).not.toBeNull();
  return trpcCode(e);
}

describe("recon API", () => {
  it("imports through the API, runs, lists and exports breaks, and matches by hand", async () => {
    const account = await openAccount(db, { code: `bank:api:${randomUUID().slice(0, 6)}`, type: "asset" });
    const counter = await openAccount(db, { code: `clearing:api:${randomUUID().slice(0, 6)}`, type: "liability" });
    const iban = randomIban();
    expect(await failure(callerAs(db, operator).recon.sources.create({ name: "API bank", kind: "bank_account", ledgerAccount: account.code, iban, idempotencyKey: k() }))).toEqual({ code: "FORBIDDEN", appCode: null });
    const source = await callerAs(db, admin).recon.sources.create({ name: "API bank", kind: "bank_account", ledgerAccount: account.code, iban, idempotencyKey: k() });
    await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      { type: "post_entry", entry: { effectiveAt: new Date("2026-11-20T09:00:00Z"), metadata: { reference: "API-00001" }, postings: [{ accountId: account.id, side: "debit", amountMinor: 40_00n, currency: "EUR" }, { accountId: counter.id, side: "credit", amountMinor: 40_00n, currency: "EUR" }] } },
      { idempotencyKey: `api:${randomUUID()}` },
    );
    const xml = statementXml([{ iban, entries: [{ amountMinor: 40_00n, endToEndId: "API-00001" }, { amountMinor: 25_00n, remittanceInfo: "who is this" }] }]);
    const contentBase64 = Buffer.from(xml).toString("base64");
    expect(await failure(callerAs(db, viewer).recon.importStatement({ fileName: "s.xml", contentBase64, idempotencyKey: k() }))).toEqual({ code: "FORBIDDEN", appCode: null });
    const imported = await callerAs(db, importer).recon.importStatement({ fileName: "s.xml", contentBase64, idempotencyKey: k() });
    expect(imported).toMatchObject({ status: "imported", sourceId: source.id, lineCount: 2, run: { summary: { autoMatches: 1, breaksOpened: 1 } } });
    const again = await callerAs(db, importer).recon.importStatement({ fileName: "s-again.xml", contentBase64, idempotencyKey: k() });
    expect(again).toMatchObject({ status: "duplicate_file", run: null });

    const bad = await failure(callerAs(db, importer).recon.importStatement({ fileName: "bad.xml", contentBase64: Buffer.from(xml.replace(">25.00<", ">25.001<")).toString("base64"), idempotencyKey: k() }));
    expect(bad).toEqual({ code: "BAD_REQUEST", appCode: "STATEMENT_INVALID" });

    const runs = await callerAs(db, viewer).recon.runs.list({ sourceId: source.id });
    expect(runs.items.map((r) => r.trigger)).toEqual(["import"]);
    const today = new Date().toISOString().slice(0, 10);
    const series = await callerAs(db, viewer).recon.runs.series({ sourceId: source.id, from: today, to: today });
    expect(series).toEqual([{ date: today, lines: 2, matchedLines: 1, matchRateBps: 5000, unreconciledMinorByCurrency: { EUR: "2500" } }]);

    const page = await callerAs(db, viewer).recon.breaks.list({ sourceId: source.id, statuses: ["open"] });
    expect(page.items).toHaveLength(1);
    const b = page.items[0]!;
    expect(b).toMatchObject({ type: "missing_in_ledger", amountMinor: 25_00n, currency: "EUR", reference: "who is this" });
    const csv = await callerAs(db, viewer).recon.breaks.exportCsv({ sourceId: source.id });
    expect(csv.rowCount).toBe(1);
    expect(csv.csv.split("\n")[1]).toContain(",missing_in_ledger,open,2500,25.00,EUR,credit,2026-11-20,");

    await callerAs(db, operator).recon.breaks.assignToMe({ breakIds: [b.id], idempotencyKey: k() });
    expect((await callerAs(db, viewer).recon.breaks.get({ breakId: b.id })).assigneeLabel).toBe(operator.email);
    expect(await failure(callerAs(db, viewer).recon.breaks.note({ breakId: b.id, note: "x", idempotencyKey: k() }))).toEqual({ code: "FORBIDDEN", appCode: null });

    // The counterpart arrives; the operator matches it by hand.
    await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      { type: "post_entry", entry: { effectiveAt: new Date("2026-11-20T10:00:00Z"), postings: [{ accountId: account.id, side: "debit", amountMinor: 25_00n, currency: "EUR" }, { accountId: counter.id, side: "credit", amountMinor: 25_00n, currency: "EUR" }] } },
      { idempotencyKey: `api:${randomUUID()}` },
    );
    const detail = await callerAs(db, operator).recon.breaks.get({ breakId: b.id });
    expect(detail.candidates[0]).toMatchObject({ side: "ledger", amountMinor: 25_00n });
    const m = await callerAs(db, operator).recon.breaks.match({ sourceId: source.id, lineIds: [detail.line!.id], postingIds: [detail.candidates[0]!.id], note: "late booking by treasury", idempotencyKey: k() });
    expect(m.differenceMinor).toBe(0n);
    expect((await callerAs(db, viewer).recon.breaks.get({ breakId: b.id })).status).toBe("resolved");
    expect(await failure(callerAs(db, operator).recon.breaks.match({ sourceId: source.id, lineIds: [detail.line!.id], postingIds: [detail.candidates[0]!.id], note: "again", idempotencyKey: k() }))).toEqual({ code: "CONFLICT", appCode: "CONFLICT" });

    // Two more runs by hand; the runs list pages newest first, one run a page, each run once.
    for (let i = 0; i < 2; i++) await callerAs(db, operator).recon.runs.start({ sourceId: source.id, periodFrom: "2026-11-20", periodTo: "2026-11-20", idempotencyKey: k() });
    const all = (await callerAs(db, viewer).recon.runs.list({ sourceId: source.id })).items.map((r) => r.id);
    expect(all).toHaveLength(3);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const onePage = await callerAs(db, viewer).recon.runs.list({ sourceId: source.id, limit: 1, ...(cursor ? { cursor } : {}) });
      paged.push(...onePage.items.map((r) => r.id));
      cursor = onePage.nextCursor ?? undefined;
    } while (cursor && paged.length < 10);
    expect(paged).toEqual(all);
    expect(await failure(callerAs(db, viewer).recon.runs.list({ sourceId: source.id, cursor: "bm90LWEtY3Vyc29y" }))).toEqual({ code: "BAD_REQUEST", appCode: "BAD_INPUT" });
  });

  it("rules: admins draft and propose; operators and service keys cannot", async () => {
    const active = (await callerAs(db, viewer).recon.rules.list()).find((r) => r.status === "active")!;
    expect(await failure(callerAs(db, operator).recon.rules.createDraft({ rules: active.rules, autoApplyThreshold: 95, idempotencyKey: k() }))).toEqual({ code: "FORBIDDEN", appCode: null });
    const draft = await callerAs(db, admin).recon.rules.createDraft({ rules: active.rules, autoApplyThreshold: 95, note: "stricter", idempotencyKey: k() });
    const p = await callerAs(db, admin).recon.rules.proposeActivation({ version: draft.version, basedOnActiveVersion: active.version, reason: "fewer automatic matches", idempotencyKey: `k:${randomUUID()}` });
    expect(p).toMatchObject({ status: "open", requiredApprovals: 1 });
    expect(await failure(callerAs(db, admin).recon.rules.createDraft({ rules: [{ kind: "nope" }], autoApplyThreshold: 90, idempotencyKey: k() }))).toEqual({ code: "BAD_REQUEST", appCode: "BAD_INPUT" });
    expect(await failure(callerAs(db, admin).recon.rules.createDraft({ rules: active.rules, autoApplyThreshold: 90, extra: 1, idempotencyKey: k() } as never))).toMatchObject({ code: "BAD_REQUEST" });
  });

  it("idempotency keys: a replay returns the first answer and changes nothing; another request under the key is a conflict; a refused request frees its key", async () => {
    const account = await openAccount(db, { code: `bank:idem:${randomUUID().slice(0, 6)}`, type: "asset" });
    const iban = randomIban();
    await callerAs(db, admin).recon.sources.create({ name: `Idem bank ${randomUUID().slice(0, 6)}`, kind: "bank_account", ledgerAccount: account.code, iban, idempotencyKey: k() });
    const xml = statementXml([{ iban, entries: [{ amountMinor: 9_99n, remittanceInfo: "unknown" }] }]);
    await callerAs(db, importer).recon.importStatement({ fileName: "i.xml", contentBase64: Buffer.from(xml).toString("base64"), idempotencyKey: k() });
    const [b] = (await callerAs(db, viewer).recon.breaks.list({ statuses: ["open"], limit: 200 })).items.filter((x) => x.reference === "unknown" && x.amountMinor === 9_99n);
    const key = k();
    await callerAs(db, operator).recon.breaks.note({ breakId: b!.id, note: "asked the bank", idempotencyKey: key });
    await callerAs(db, operator).recon.breaks.note({ breakId: b!.id, note: "asked the bank", idempotencyKey: key });
    const notes = (await callerAs(db, viewer).recon.breaks.get({ breakId: b!.id })).events.filter((e) => e.kind === "note");
    expect(notes).toHaveLength(1);
    expect(await failure(callerAs(db, operator).recon.breaks.note({ breakId: b!.id, note: "something else", idempotencyKey: key }))).toEqual({ code: "CONFLICT", appCode: "IDEMPOTENCY_CONFLICT" });
    // The same key of another person is their own.
    await callerAs(db, person("otto", ["operator"])).recon.breaks.note({ breakId: b!.id, note: "asked the bank", idempotencyKey: key });
    // A refused request (deadline in the past) frees its key for the corrected request.
    const timingKey = k();
    expect((await failure(callerAs(db, operator).recon.breaks.acceptTiming({ breakId: b!.id, deadlineAt: new Date(Date.now() - 1000), note: "tomorrow", idempotencyKey: timingKey }))).appCode).toBe("BAD_INPUT");
    await callerAs(db, operator).recon.breaks.acceptTiming({ breakId: b!.id, deadlineAt: new Date(Date.now() + 86_400_000), note: "tomorrow", idempotencyKey: timingKey });
    expect((await callerAs(db, viewer).recon.breaks.get({ breakId: b!.id })).status).toBe("timing");
  });

  it("refuses a file over the API's limit before reading it", async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 0x20).toString("base64");
    expect((await failure(callerAs(db, importer).recon.importStatement({ fileName: "big.xml", contentBase64: big, idempotencyKey: k() }))).code).toBe("BAD_REQUEST");
  });
});
