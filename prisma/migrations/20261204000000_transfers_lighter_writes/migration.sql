-- Issue 17 (capacity): fewer index entries per transfer. Every state change writes a new row
-- version of `transfers` and, since `state` is indexed, an entry in each of its indexes (a
-- transfer passes through five or six versions). Here:
-- - transfers_partner_partner_ref_idx goes: no query reads (partner, partner_ref); lookups by
--   partner reference use transfers_partner_ref_idx.
-- - Four indexes become partial, each keeping exactly the rows its readers ask for (a predicate
--   every one of their queries implies; test/int/transfers-index-plans.int.test.ts explains each
--   reader, with its values and as a generic plan):
--   partner_ref and the two entry ids are only ever looked up by value (most versions have none);
--   (state, state_changed_at) is read by the sweeps, the overdue polls and admission's backlog,
--   all about transfers in flight, so a transfer's final versions leave it.
-- Applied as written, the table is locked while the four indexes are built again (seconds on the
-- demo, longer on a large table). To avoid that on a large production table, first build each
-- partial index under a new name with CREATE INDEX CONCURRENTLY, drop the old one CONCURRENTLY,
-- rename the new one, then let this migration run (its DROP/CREATE then only rebuilds small
-- partial indexes) or record it as applied.
-- DropIndex
DROP INDEX "transfers_partner_partner_ref_idx";


-- Partial from now on
DROP INDEX "transfers_state_state_changed_at_idx";
CREATE INDEX "transfers_state_state_changed_at_idx" ON "transfers"("state", "state_changed_at") WHERE (state = ANY (ARRAY['created'::transfer_state, 'reserved'::transfer_state, 'submitted'::transfer_state, 'acknowledged'::transfer_state]));

-- Partial from now on
DROP INDEX "transfers_partner_ref_idx";
CREATE INDEX "transfers_partner_ref_idx" ON "transfers"("partner_ref") WHERE (partner_ref IS NOT NULL);

-- Partial from now on
DROP INDEX "transfers_settlement_entry_id_idx";
CREATE INDEX "transfers_settlement_entry_id_idx" ON "transfers"("settlement_entry_id") WHERE (settlement_entry_id IS NOT NULL);

-- Partial from now on
DROP INDEX "transfers_return_entry_id_idx";
CREATE INDEX "transfers_return_entry_id_idx" ON "transfers"("return_entry_id") WHERE (return_entry_id IS NOT NULL);
