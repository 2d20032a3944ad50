-- recon_matches keeps its primary key only (issue 11: matching 1,000,000 lines within 20 s).
-- Nothing reads matches by source and creation time or by run (a match is found by its id, or
-- through its members), and every row a run writes has the same key in both indexes: together
-- they cost about a second per million matches.

-- DropIndex
DROP INDEX "recon_matches_source_id_created_at_idx";

-- DropIndex
DROP INDEX "recon_matches_run_id_idx";
