-- Rule checks inside triggers look rows up by key, and must do so by index whatever the planner's
-- statistics say. PL/pgSQL caches a statement's plan for the life of a connection; planned while a
-- table was young (a fresh database, or before autovacuum's first ANALYZE), the entry check chose
-- a sequential scan of `postings` and the posting check a hash join over all of `journal_entries`,
-- and kept them: every commit then scanned the whole table, a cost that grew with the ledger
-- (measured: 0.8-3 ms of database time per transfer after 20,000 entries). The settings below hold
-- only while these functions run, so every plan they cache uses the key indexes.
ALTER FUNCTION journal_entries_check_balanced() SET enable_seqscan = off;
ALTER FUNCTION postings_check_balanced() SET enable_seqscan = off;
ALTER FUNCTION ledger_check_entry_balanced(uuid) SET enable_seqscan = off;
ALTER FUNCTION postings_check_account() SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
