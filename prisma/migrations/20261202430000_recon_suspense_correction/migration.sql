-- Reconciliation: a break can be corrected to the currency's suspense account
-- (ops:recon:suspense:<CCY>) under four eyes, besides being written off
-- (server/recon/write-off.ts, kind recon_break_suspense_correction). The pending proposal is kept
-- on the break beside the write-off's, so the console links it and offers neither twice.
ALTER TABLE "recon_breaks" ADD COLUMN "suspense_proposal_id" UUID;
