// The demo world's open proposals: proposed through the service (preview, audit), idempotent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { seedDemoWorld } from "../../server/demo/seed";
import { listProposals } from "../../server/approvals/queries";
import { person } from "./approvals-test-helpers";
import { adjustmentKinds } from "../../server/composition";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe("demo approvals", () => {
  it("seeds three open proposals once, one of them needing two approvers, each audited", async () => {
    const first = await seedDemoWorld(db);
    expect(first).toMatch(/demo approvals: 3 proposed, 0 already present/);
    const second = await seedDemoWorld(db);
    expect(second).toMatch(/demo approvals: 0 proposed, 3 already present/);
    const page = await listProposals(db, { kinds: adjustmentKinds, actor: person("ada", ["approver"]) }, { view: "waiting_for_me" });
    // The demo reconciliation world adds two write-offs of a break (server/demo/seed-recon.ts): one
    // waiting for an approver, one already approved and applied.
    expect(page.items.filter((p) => p.kind === "recon_break_write_off")).toHaveLength(1);
    expect(page.items.filter((p) => p.kind !== "recon_break_write_off").map((p) => [p.summary, p.requiredApprovals, p.status]).sort()).toEqual([
      ["Credit unidentified SEPA payment to the customer it belongs to", 2, "open"],
      ["Goodwill credit after card outage", 1, "open"],
      ["Refund duplicate fee on DEMO-0042", 1, "open"],
    ]);
    const audit = await db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'adjustment.propose'`);
    expect(audit.rows[0].n).toBe(5);
  });
});
