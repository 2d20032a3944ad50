// The camt.053 reader (server/partners/camt053/reader.ts) and writer: every supported version by
// namespace, unknown versions refused by name, exact amounts per currency exponent, errors that
// name the element path and line, and the round trip written -> read (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { parseCamt053 } from "../../server/partners/camt053/parse";
import { SUPPORTED_CAMT053_VERSIONS, type Camt053Version } from "../../server/partners/camt053/reader";
import { writeCamt053, type Camt053StatementInput } from "../../server/partners/camt053/writer";
import type { StatementEntry, TransactionDetail } from "../../server/partners/statement-types";

function doc(body: string, version = "001.02"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.${version}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-20T18:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S1</Id><ElctrncSeqNb>7</ElctrncSeqNb>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
      ${body}
    </Stmt>
  </BkToCstmrStmt>
</Document>`;
}

const entry = (amt: string, opts: { ccy?: string; ind?: string; date?: string } = {}) =>
  `<Ntry><Amt Ccy="${opts.ccy ?? "EUR"}">${amt}</Amt><CdtDbtInd>${opts.ind ?? "CRDT"}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>${opts.date ?? "2026-11-20"}</Dt></BookgDt><BkTxCd/></Ntry>`;

async function refusal(xml: string): Promise<AppError> {
  const e = await parseCamt053(xml).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe("camt.053 versions", () => {
  it.each(SUPPORTED_CAMT053_VERSIONS)("reads version %s, detected by namespace", async (version) => {
    const parsed = await parseCamt053(doc(entry("8.85"), version));
    expect(parsed.version).toBe(version);
    expect(parsed.statements[0]!.header.format).toBe(`camt.053.${version}`);
    expect(parsed.statements[0]!.entries[0]!.amountMinor).toBe(885n);
  });

  it.each(["001.01", "001.09", "001.13", "002.02"])("refuses version %s by name", async (version) => {
    const e = await refusal(doc(entry("1.00"), version));
    expect(e.code).toBe("STATEMENT_VERSION_UNSUPPORTED");
    expect(e.message).toContain(`camt.053 version ${version} is not supported`);
  });

  it("refuses a namespace that is not camt.053, naming it", async () => {
    const e = await refusal(doc(entry("1.00")).replace("camt.053.001.02", "camt.052.001.02"));
    expect(e.code).toBe("STATEMENT_INVALID");
    expect(e.message).toContain('namespace "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02" is not a camt.053 statement');
  });

  it("reads a document whose elements carry a namespace prefix", async () => {
    const xml = doc(entry("1.00")).replace(/<(\/?)([A-Za-z])/g, "<$1c:$2").replace('xmlns="', 'xmlns:c="');
    const parsed = await parseCamt053(xml);
    expect(parsed.statements[0]!.entries[0]!.amountMinor).toBe(100n);
  });
});

describe("exact amounts", () => {
  it.each([
    ["8.85", "EUR", 885n],
    ["8.850", "EUR", 885n],
    ["8.8", "EUR", 880n],
    ["2700", "JPY", 2700n],
    ["2700.00", "JPY", 2700n],
    ["1.234", "BHD", 1234n],
    ["92233720368547758.07", "EUR", 9223372036854775807n],
  ])("%s %s is %s minor units", async (amt, ccy, want) => {
    const parsed = await parseCamt053(doc(entry(amt, { ccy })));
    expect(parsed.statements[0]!.entries[0]!.amountMinor).toBe(want);
    expect(parsed.statements[0]!.entries[0]!.currency).toBe(ccy);
  });

  it.each([
    ["8.855", "EUR", /Stmt\[1\]\/Ntry\[1\]\/Amt \(line \d+\): amount "8.855" has more decimals than EUR allows/],
    ["2700.5", "JPY", /Ntry\[1\]\/Amt .*has more decimals than JPY allows/],
    ["1.2345", "BHD", /more decimals than BHD/],
    ["-1.00", "EUR", /must not be negative/],
    ["1e3", "EUR", /not a plain decimal/],
    ["0.00", "EUR", /must not be zero/],
    ["", "EUR", /Ntry\[1\]\/Amt .*is missing/],
    ["1.00", "XXX", /currency "XXX" is not a known ISO 4217 code/],
  ])("refuses %j %s naming the element", async (amt, ccy, message) => {
    const e = await refusal(doc(entry(amt, { ccy })));
    expect(e.code).toBe("STATEMENT_INVALID");
    expect(e.message).toMatch(message);
    expect(e.details).toMatchObject({ place: "BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt" });
  });
});

describe("errors name the place", () => {
  it.each([
    ["malformed XML", doc(entry("1.00")).replace("</Ntry>", "</Ntr>"), /malformed XML at .*\d+:\d+/],
    ["truncated XML", doc(entry("1.00")).slice(0, 400), /malformed XML/],
    ["not XML at all", "hello", /malformed XML|no XML document/],
    ["a bad indicator", doc(entry("1.00", { ind: "CREDIT" })), /Stmt\[1\]\/Ntry\[1\]\/CdtDbtInd \(line \d+\): "CREDIT" must be CRDT or DBIT/],
    ["a date that does not exist", doc(entry("1.00", { date: "2026-02-30" })), /Ntry\[1\]\/BookgDt .*"2026-02-30" is not a YYYY-MM-DD date/],
    ["a statement without Id", doc(entry("1.00")).replace("<Id>S1</Id>", ""), /Stmt\[1\]\/Id .*is missing/],
    ["a statement without account", doc(entry("1.00")).replace(/<Acct>.*<\/Acct>/, ""), /Stmt\[1\]\/Acct\/Id .*names no account/],
    ["a balance without date", doc(`<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>`), /Stmt\[1\]\/Bal\[1\]\/Dt .*is missing/],
    ["a balance with too many decimals", doc(`<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.001</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>`), /Bal\[1\]\/Amt .*more decimals than EUR/],
    ["a second entry's error names its index", doc(entry("1.00") + entry("2.001")), /Stmt\[1\]\/Ntry\[2\]\/Amt/],
    ["a non-UTF-8 encoding", doc(entry("1.00")).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'), /encoding ISO-8859-1 is not supported/],
    ["a root that is not Document", '<?xml version="1.0"?><Foo/>', /root element must be Document/],
  ])("%s", async (_name, xml, message) => {
    const e = await refusal(xml);
    expect(e.code).toBe("STATEMENT_INVALID");
    expect(e.message).toMatch(message);
  });

  it("refuses bytes that are not UTF-8", async () => {
    const bytes = Buffer.concat([Buffer.from(doc(entry("1.00")).slice(0, 300)), Buffer.from([0xff, 0xfe]), Buffer.from(doc(entry("1.00")).slice(300))]);
    const e = await parseCamt053(bytes).catch((err: unknown) => err as AppError);
    expect((e as AppError).message).toMatch(/not valid UTF-8/);
  });
});

describe("entries", () => {
  it("reads a batch entry's transaction details, each with its own amount and references", async () => {
    const tx = (e2e: string, amt: string, name: string) =>
      `<TxDtls><Refs><EndToEndId>${e2e}</EndToEndId></Refs><Amt Ccy="EUR">${amt}</Amt><CdtDbtInd>DBIT</CdtDbtInd><RltdPties><Cdtr><Nm>${name}</Nm></Cdtr><CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct></RltdPties><RmtInf><Ustrd>part</Ustrd><Ustrd>two</Ustrd></RmtInf></TxDtls>`;
    const body = `<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><DtTm>2026-11-21T09:00:00+01:00</DtTm></ValDt><AcctSvcrRef>BATCH-1</AcctSvcrRef><BkTxCd/><NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>${tx("E1", "10.00", "A")}${tx("E2", "20.00", "B")}</NtryDtls></Ntry>`;
    const e = (await parseCamt053(doc(body, "001.04"))).statements[0]!.entries[0]!;
    expect(e).toMatchObject({ amountMinor: 3000n, direction: "debit", valueDate: "2026-11-21", accountServicerReference: "BATCH-1", endToEndId: null });
    expect(e.details.map((d) => [d.endToEndId, d.amountMinor, d.direction, d.counterpartyName, d.counterpartyAccount, d.remittanceInfo])).toEqual([
      ["E1", 1000n, "debit", "A", "FR1420041010050500013M02606", "part two"],
      ["E2", 2000n, "debit", "B", "FR1420041010050500013M02606", "part two"],
    ]);
  });

  it("hands statements and entries to the sink as they complete, with their totals", async () => {
    const { readCamt053 } = await import("../../server/partners/camt053/reader");
    const seen: string[] = [];
    await readCamt053([doc(entry("1.00") + entry("0.25", { ind: "DBIT" }))], {
      statement: (h) => void seen.push(`statement ${h.statementId} seq ${h.sequence}`),
      entry: (e) => void seen.push(`entry ${e.index} ${e.direction} ${e.amountMinor}`),
      statementEnd: (_h, t) => void seen.push(`end ${t.entryCount} ${t.netMinorByCurrency.get("EUR")}`),
    });
    expect(seen).toEqual(["statement S1 seq 7", "entry 0 credit 100", "entry 1 debit 25", "end 2 75"]);
  });
});

// --- round trip --------------------------------------------------------------------------------

const CURRENCIES = ["EUR", "JPY", "BHD", "USD", "CLF"] as const;
const text = (max: number) =>
  fc
    .string({ minLength: 1, maxLength: max, unit: fc.constantFrom(..."abcXYZ019 -_/&<>'\".,:éü€") })
    .map((s) => s.trim().replace(/\s+/g, " "))
    .filter((s) => s.length > 0);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const date = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const amount = fc.bigInt({ min: 1n, max: 2n ** 63n - 1n });
const direction = fc.constantFrom("credit" as const, "debit" as const);

function detailArb(version: number): fc.Arbitrary<TransactionDetail> {
  return fc.record({
    amountMinor: amount,
    currency: fc.constantFrom(...CURRENCIES),
    direction: version >= 3 ? maybe(direction) : fc.constant(null),
    endToEndId: maybe(text(35)),
    accountServicerReference: maybe(text(35)),
    instructionId: maybe(text(35)),
    transactionId: maybe(text(35)),
    remittanceInfo: maybe(text(140)),
    counterpartyName: maybe(text(70)),
    counterpartyAccount: maybe(fc.constantFrom("DE89370400440532013000", "GB29NWBK60161331926819", "acct 42")),
  });
}

function entryArb(version: number): fc.Arbitrary<Omit<StatementEntry, "index" | "place">> {
  return fc
    .record({
      amountMinor: amount,
      currency: fc.constantFrom(...CURRENCIES),
      direction,
      status: fc.constantFrom("BOOK", "PDNG"),
      isReversal: fc.boolean(),
      bookingDate: maybe(date),
      valueDate: maybe(date),
      accountServicerReference: maybe(text(35)),
      endToEndId: maybe(text(35)),
      remittanceInfo: maybe(text(140)),
      counterpartyName: maybe(text(70)),
      counterpartyAccount: maybe(fc.constantFrom("DE89370400440532013000", "other-account-1")),
      bankTransactionCode: maybe(fc.constantFrom("PMNT/RCDT/ESCT", "PMNT/ICDT/ESCT", "544", "NTRF")),
      additionalInfo: maybe(text(100)),
      details: fc.oneof(fc.constant<TransactionDetail[]>([]), fc.array(detailArb(version), { minLength: 2, maxLength: 4 })),
    })
    .map((e) => (e.details.length > 0 ? { ...e, endToEndId: null, remittanceInfo: null, counterpartyName: null, counterpartyAccount: null } : e));
}

const balance = fc.record({ amountMinor: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), currency: fc.constantFrom(...CURRENCIES), direction, date });

function statementArb(version: number): fc.Arbitrary<Camt053StatementInput & { entries: Omit<StatementEntry, "index" | "place">[] }> {
  return fc.record({
    statementId: text(35),
    electronicSequenceNumber: maybe(fc.integer({ min: 0, max: 99999 }).map(String)),
    legalSequenceNumber: maybe(fc.integer({ min: 0, max: 99999 }).map(String)),
    accountIban: fc.constantFrom("DE89370400440532013000", "NL91ABNA0417164300"),
    accountCurrency: maybe(fc.constantFrom(...CURRENCIES)),
    openingBalance: maybe(balance),
    closingBalance: maybe(balance),
    entries: fc.array(entryArb(version), { maxLength: 6 }),
  });
}

describe("written and read back", () => {
  it("a generated document written as camt.053 and read back is equal, in every version", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SUPPORTED_CAMT053_VERSIONS).chain((version) => fc.tuple(fc.constant(version), fc.array(statementArb(Number(version.slice(4))), { minLength: 1, maxLength: 3 }))),
        async ([version, statements]: [Camt053Version, (Camt053StatementInput & { entries: Omit<StatementEntry, "index" | "place">[] })[]]) => {
          const xml = writeCamt053({ version, messageId: "MSG-1", createdAt: "2026-11-20T18:00:00Z", statements });
          const read = await parseCamt053(xml);
          expect(read.version).toBe(version);
          expect(read.statements.length).toBe(statements.length);
          statements.forEach((s, i) => {
            const got = read.statements[i]!;
            expect(got.header).toMatchObject({
              statementId: s.statementId,
              sequence: s.electronicSequenceNumber ?? s.legalSequenceNumber ?? null,
              accountIban: s.accountIban,
              accountCurrency: s.accountCurrency,
              openingBalance: s.openingBalance,
              closingBalance: s.closingBalance,
            });
            expect(got.entries.map(({ index: _i, place: _p, ...rest }) => rest)).toEqual(s.entries);
            expect(got.entries.map((e) => e.index)).toEqual(s.entries.map((_e, k) => k));
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
