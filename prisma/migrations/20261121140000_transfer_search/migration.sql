-- Text search on the transfers list: "the start of our reference" must use an index at a million
-- rows. LIKE 'prefix%' can use a btree index only under the C collation, so the reference column
-- is compared bytewise (references are machine-made identifiers such as INV-2026-0042; nobody
-- sorts them linguistically). Prisma cannot express a column collation; schema.prisma says so
-- beside the model.
ALTER TABLE "transfers" ALTER COLUMN "reference" TYPE TEXT COLLATE "C";

-- The partner's reference alone (the search box does not know the partner).
CREATE INDEX "transfers_partner_ref_idx" ON "transfers"("partner_ref");
