-- Who is in a match, in one table (issue 11: matching 1,000,000 lines within 20 s).
--
-- recon_match_lines (keyed by line) and recon_match_items (keyed by source and posting) become
-- recon_match_members: a row names a line, a posting, or both when the match is one line to one
-- posting, so an automatic one-to-one match is two rows (the match and its member) instead of
-- three. Uniqueness stays inside one table: a line in one match at most, a posting in one match
-- per source. The two old names remain as views of the same shape for every reader.

-- CreateTable
CREATE TABLE "recon_match_members" (
    "match_id" BIGINT NOT NULL,
    "source_id" UUID,
    "line_id" BIGINT,
    "posting_id" BIGINT
);

-- Existing members: each old row becomes a row of a line alone or of a posting alone.
INSERT INTO "recon_match_members" ("match_id", "source_id", "line_id", "posting_id")
SELECT "match_id", NULL, "line_id", NULL FROM "recon_match_lines";
INSERT INTO "recon_match_members" ("match_id", "source_id", "line_id", "posting_id")
SELECT "match_id", "source_id", NULL, "posting_id" FROM "recon_match_items";

-- DropTable
DROP TABLE "recon_match_lines";

-- DropTable
DROP TABLE "recon_match_items";

-- CreateIndex
CREATE UNIQUE INDEX "recon_match_members_line_id_key" ON "recon_match_members"("line_id");

-- CreateIndex
CREATE INDEX "recon_match_members_match_id_idx" ON "recon_match_members"("match_id");

-- CreateIndex
CREATE UNIQUE INDEX "recon_match_members_source_id_posting_id_key" ON "recon_match_members"("source_id", "posting_id");

-- ---------------------------------------------------------------------------------------------
-- Rules (hand-written)

-- A row names a line or a posting (or both); a posting always with its source, a line alone never.
ALTER TABLE "recon_match_members" ADD CONSTRAINT "recon_match_members_shape"
  CHECK ((line_id IS NOT NULL OR posting_id IS NOT NULL) AND ((posting_id IS NULL) = (source_id IS NULL)));

-- The shapes of the two tables this one replaced, for readers (both are simple views: inserting or
-- deleting through them works, and a condition on line_id or posting_id reaches the indexes).
CREATE VIEW "recon_match_lines" AS
  SELECT "line_id", "match_id" FROM "recon_match_members" WHERE "line_id" IS NOT NULL;
CREATE VIEW "recon_match_items" AS
  SELECT "source_id", "posting_id", "match_id" FROM "recon_match_members" WHERE "posting_id" IS NOT NULL;
