-- Observability (issue 13, point 8): a transfer's correlation id is found from its reconciliation
-- match by joining match items -> postings -> the journal entry -> the transfer that entry settles
-- or returns. Without these indexes that last step reads every transfer (a hash join over the whole
-- table) for each run's trace, each match shown and each break page; with them it is an index probe.
-- Each index costs one insert when a transfer settles or is returned (the column is set once).
CREATE INDEX "transfers_settlement_entry_id_idx" ON "transfers"("settlement_entry_id");
CREATE INDEX "transfers_return_entry_id_idx" ON "transfers"("return_entry_id");
