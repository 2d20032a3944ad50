-- Reconciliation (server/recon): sources, CSV mappings, imports, statements and lines, rule sets, runs,
-- matches and suggestions, breaks and their timeline, closed periods. Generated part from schema.prisma
-- (scripts/db-diff.mjs), then the rules Prisma cannot express, by hand, at the end.

-- CreateEnum
CREATE TYPE "recon_source_kind" AS ENUM ('bank_account', 'partner_rail', 'csv_feed');

-- CreateEnum
CREATE TYPE "recon_break_type" AS ENUM ('missing_in_ledger', 'missing_in_statement', 'amount_mismatch', 'currency_mismatch', 'duplicate', 'statement_gap', 'balance_mismatch');

-- CreateEnum
CREATE TYPE "recon_break_status" AS ENUM ('open', 'timing', 'resolved');

-- CreateTable
CREATE TABLE "recon_sources" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "kind" "recon_source_kind" NOT NULL,
    "ledger_account_id" UUID NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "iban" TEXT,
    "external_account_id" TEXT,
    "partner" TEXT,
    "rail" TEXT,
    "csv_mapping_version" INTEGER,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recon_sources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_csv_mappings" (
    "source_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "mapping" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT NOT NULL,

    CONSTRAINT "recon_csv_mappings_pkey" PRIMARY KEY ("source_id","version")
);

-- CreateTable
CREATE TABLE "recon_imports" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source_id" UUID NOT NULL,
    "file_sha256" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "format" TEXT NOT NULL,
    "statement_count" INTEGER NOT NULL,
    "line_count" INTEGER NOT NULL,
    "skipped" JSONB NOT NULL DEFAULT '[]',
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "recon_imports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_statements" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source_id" UUID NOT NULL,
    "import_id" UUID NOT NULL,
    "statement_ref" TEXT NOT NULL,
    "sequence" TEXT NOT NULL,
    "sequence_no" BIGINT,
    "format" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "opening_minor" BIGINT,
    "opening_date" DATE,
    "closing_minor" BIGINT,
    "closing_date" DATE,
    "net_minor" DECIMAL(39,0) NOT NULL,
    "line_count" INTEGER NOT NULL,
    "period_from" DATE NOT NULL,
    "period_to" DATE NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "recon_statements_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_lines" (
    "id" BIGSERIAL NOT NULL,
    "source_id" UUID NOT NULL,
    "statement_id" UUID NOT NULL,
    "line_index" INTEGER NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "direction" TEXT NOT NULL,
    "is_booked" BOOLEAN NOT NULL,
    "is_reversal" BOOLEAN NOT NULL,
    "booking_date" DATE NOT NULL,
    "value_date" DATE,
    "account_servicer_reference" TEXT,
    "end_to_end_id" TEXT,
    "remittance_info" TEXT,
    "counterparty_name" TEXT,
    "counterparty_account" TEXT,
    "bank_transaction_code" TEXT,
    "details" JSONB,
    "place" TEXT NOT NULL,
    "ref_keys" TEXT[],

    CONSTRAINT "recon_lines_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_rule_sets" (
    "version" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "rules" JSONB NOT NULL,
    "auto_apply_threshold" SMALLINT NOT NULL,
    "active_marker" BOOLEAN,
    "note" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "created_by" TEXT NOT NULL,
    "activated_at" TIMESTAMPTZ(6),
    "proposal_id" UUID,

    CONSTRAINT "recon_rule_sets_pkey" PRIMARY KEY ("version")
);

-- CreateTable
CREATE TABLE "recon_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source_id" UUID NOT NULL,
    "period_from" DATE NOT NULL,
    "period_to" DATE NOT NULL,
    "trigger" TEXT NOT NULL,
    "rule_set_version" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "summary" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "actor_label" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "finished_at" TIMESTAMPTZ(6),

    CONSTRAINT "recon_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_matches" (
    "id" BIGSERIAL NOT NULL,
    "source_id" UUID NOT NULL,
    "run_id" UUID,
    "kind" TEXT NOT NULL,
    "rule" TEXT NOT NULL,
    "rule_set_version" INTEGER,
    "confidence" SMALLINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "difference_minor" BIGINT NOT NULL,
    "reasons" JSONB NOT NULL DEFAULT '[]',
    "actor_label" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "undone_at" TIMESTAMPTZ(6),

    CONSTRAINT "recon_matches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_match_lines" (
    "line_id" BIGINT NOT NULL,
    "match_id" BIGINT NOT NULL,

    CONSTRAINT "recon_match_lines_pkey" PRIMARY KEY ("line_id")
);

-- CreateTable
CREATE TABLE "recon_match_items" (
    "source_id" UUID NOT NULL,
    "posting_id" BIGINT NOT NULL,
    "match_id" BIGINT NOT NULL,

    CONSTRAINT "recon_match_items_pkey" PRIMARY KEY ("source_id","posting_id")
);

-- CreateTable
CREATE TABLE "recon_suggestions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source_id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "line_ids" BIGINT[],
    "posting_ids" BIGINT[],
    "rule" TEXT NOT NULL,
    "rule_set_version" INTEGER NOT NULL,
    "confidence" SMALLINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "difference_minor" BIGINT NOT NULL,
    "reasons" JSONB NOT NULL DEFAULT '[]',
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "recon_suggestions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_breaks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source_id" UUID NOT NULL,
    "type" "recon_break_type" NOT NULL,
    "status" "recon_break_status" NOT NULL DEFAULT 'open',
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "direction" TEXT,
    "line_id" BIGINT,
    "posting_id" BIGINT,
    "statement_id" UUID,
    "transfer_id" UUID,
    "run_id" UUID,
    "occurred_on" DATE NOT NULL,
    "opened_at" TIMESTAMPTZ(6) NOT NULL,
    "assignee_id" UUID,
    "assignee_label" TEXT,
    "deadline_at" TIMESTAMPTZ(6),
    "escalated_at" TIMESTAMPTZ(6),
    "write_off_proposal_id" UUID,
    "resolved_at" TIMESTAMPTZ(6),
    "resolution" TEXT,
    "resolved_by" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "recon_breaks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_break_events" (
    "id" BIGSERIAL NOT NULL,
    "break_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "note" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "recon_break_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recon_period_closes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source_id" UUID NOT NULL,
    "ledger_account_id" UUID NOT NULL,
    "period_from" DATE NOT NULL,
    "period_to" DATE NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "closed_at" TIMESTAMPTZ(6) NOT NULL,
    "closed_by" TEXT NOT NULL,
    "reopened_at" TIMESTAMPTZ(6),
    "reopen_proposal_id" UUID,

    CONSTRAINT "recon_period_closes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "recon_sources_name_key" ON "recon_sources"("name");

-- CreateIndex
CREATE UNIQUE INDEX "recon_sources_iban_key" ON "recon_sources"("iban");

-- CreateIndex
CREATE UNIQUE INDEX "recon_sources_external_account_id_key" ON "recon_sources"("external_account_id");

-- CreateIndex
CREATE INDEX "recon_sources_ledger_account_id_idx" ON "recon_sources"("ledger_account_id");

-- CreateIndex
CREATE INDEX "recon_imports_source_id_created_at_idx" ON "recon_imports"("source_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "recon_imports_source_id_file_sha256_key" ON "recon_imports"("source_id", "file_sha256");

-- CreateIndex
CREATE INDEX "recon_statements_source_id_period_to_idx" ON "recon_statements"("source_id", "period_to");

-- CreateIndex
CREATE INDEX "recon_statements_import_id_idx" ON "recon_statements"("import_id");

-- CreateIndex
CREATE UNIQUE INDEX "recon_statements_source_id_statement_ref_sequence_key" ON "recon_statements"("source_id", "statement_ref", "sequence");

-- CreateIndex
CREATE INDEX "recon_lines_source_id_booking_date_idx" ON "recon_lines"("source_id", "booking_date");

-- CreateIndex
CREATE UNIQUE INDEX "recon_lines_statement_id_line_index_key" ON "recon_lines"("statement_id", "line_index");

-- CreateIndex
CREATE UNIQUE INDEX "recon_rule_sets_active_marker_key" ON "recon_rule_sets"("active_marker");

-- CreateIndex
CREATE INDEX "recon_runs_source_id_started_at_idx" ON "recon_runs"("source_id", "started_at" DESC);

-- CreateIndex
CREATE INDEX "recon_runs_started_at_id_idx" ON "recon_runs"("started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "recon_matches_source_id_created_at_idx" ON "recon_matches"("source_id", "created_at");

-- CreateIndex
CREATE INDEX "recon_matches_run_id_idx" ON "recon_matches"("run_id");

-- CreateIndex
CREATE INDEX "recon_match_lines_match_id_idx" ON "recon_match_lines"("match_id");

-- CreateIndex
CREATE INDEX "recon_match_items_match_id_idx" ON "recon_match_items"("match_id");

-- CreateIndex
CREATE INDEX "recon_suggestions_source_id_status_idx" ON "recon_suggestions"("source_id", "status");

-- CreateIndex
CREATE INDEX "recon_suggestions_line_ids_idx" ON "recon_suggestions" USING GIN ("line_ids");

-- CreateIndex
CREATE INDEX "recon_breaks_status_opened_at_id_idx" ON "recon_breaks"("status", "opened_at", "id");

-- CreateIndex
CREATE INDEX "recon_breaks_source_id_status_opened_at_idx" ON "recon_breaks"("source_id", "status", "opened_at");

-- CreateIndex
CREATE INDEX "recon_breaks_type_status_idx" ON "recon_breaks"("type", "status");

-- CreateIndex
CREATE INDEX "recon_breaks_assignee_id_status_idx" ON "recon_breaks"("assignee_id", "status");

-- CreateIndex
CREATE INDEX "recon_breaks_line_id_idx" ON "recon_breaks"("line_id");

-- CreateIndex
CREATE INDEX "recon_breaks_posting_id_idx" ON "recon_breaks"("posting_id");

-- CreateIndex
CREATE INDEX "recon_breaks_statement_id_idx" ON "recon_breaks"("statement_id");

-- CreateIndex
CREATE INDEX "recon_breaks_status_deadline_at_idx" ON "recon_breaks"("status", "deadline_at");

-- CreateIndex
CREATE INDEX "recon_break_events_break_id_id_idx" ON "recon_break_events"("break_id", "id");

-- CreateIndex
CREATE INDEX "recon_period_closes_ledger_account_id_status_idx" ON "recon_period_closes"("ledger_account_id", "status");

-- CreateIndex
CREATE INDEX "recon_period_closes_source_id_period_to_idx" ON "recon_period_closes"("source_id", "period_to");

-- AddForeignKey
ALTER TABLE "recon_sources" ADD CONSTRAINT "recon_sources_ledger_account_id_fkey" FOREIGN KEY ("ledger_account_id") REFERENCES "ledger_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_csv_mappings" ADD CONSTRAINT "recon_csv_mappings_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_imports" ADD CONSTRAINT "recon_imports_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_statements" ADD CONSTRAINT "recon_statements_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_statements" ADD CONSTRAINT "recon_statements_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "recon_imports"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_runs" ADD CONSTRAINT "recon_runs_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_suggestions" ADD CONSTRAINT "recon_suggestions_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_breaks" ADD CONSTRAINT "recon_breaks_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_break_events" ADD CONSTRAINT "recon_break_events_break_id_fkey" FOREIGN KEY ("break_id") REFERENCES "recon_breaks"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_period_closes" ADD CONSTRAINT "recon_period_closes_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "recon_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "recon_period_closes" ADD CONSTRAINT "recon_period_closes_ledger_account_id_fkey" FOREIGN KEY ("ledger_account_id") REFERENCES "ledger_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "recon_idempotency" (
    "actor_key" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "response" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "completed_at" TIMESTAMPTZ(6),

    CONSTRAINT "recon_idempotency_pkey" PRIMARY KEY ("actor_key","idempotency_key")
);

-- CreateIndex
CREATE INDEX "recon_idempotency_created_at_idx" ON "recon_idempotency"("created_at");

-- ---------------------------------------------------------------------------------------------
-- Rules (hand-written)

-- Checks.
ALTER TABLE "recon_lines" ADD CONSTRAINT "recon_lines_amount_positive" CHECK (amount_minor > 0);
ALTER TABLE "recon_lines" ADD CONSTRAINT "recon_lines_direction" CHECK (direction IN ('credit', 'debit'));
ALTER TABLE "recon_statements" ADD CONSTRAINT "recon_statements_balanced"
  CHECK (opening_minor IS NULL OR closing_minor IS NULL OR opening_minor::numeric + net_minor = closing_minor::numeric);
ALTER TABLE "recon_statements" ADD CONSTRAINT "recon_statements_period" CHECK (period_from <= period_to);
ALTER TABLE "recon_breaks" ADD CONSTRAINT "recon_breaks_amount_nonneg" CHECK (amount_minor >= 0);
ALTER TABLE "recon_breaks" ADD CONSTRAINT "recon_breaks_direction" CHECK (direction IS NULL OR direction IN ('credit', 'debit'));
ALTER TABLE "recon_breaks" ADD CONSTRAINT "recon_breaks_resolved_shape" CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolution IS NOT NULL));
ALTER TABLE "recon_rule_sets" ADD CONSTRAINT "recon_rule_sets_status" CHECK (status IN ('draft', 'active', 'retired'));
-- One active version: active_marker is true exactly on the active row, NULL elsewhere, and unique.
ALTER TABLE "recon_rule_sets" ADD CONSTRAINT "recon_rule_sets_active_marker" CHECK ((status = 'active') = (active_marker IS NOT DISTINCT FROM true) AND (active_marker IS NULL OR active_marker));
ALTER TABLE "recon_rule_sets" ADD CONSTRAINT "recon_rule_sets_threshold" CHECK (auto_apply_threshold BETWEEN 0 AND 100);
ALTER TABLE "recon_matches" ADD CONSTRAINT "recon_matches_kind" CHECK (kind IN ('auto', 'confirmed', 'manual'));
ALTER TABLE "recon_matches" ADD CONSTRAINT "recon_matches_confidence" CHECK (confidence BETWEEN 0 AND 100);
ALTER TABLE "recon_suggestions" ADD CONSTRAINT "recon_suggestions_status" CHECK (status IN ('open', 'confirmed', 'dismissed', 'stale'));
ALTER TABLE "recon_runs" ADD CONSTRAINT "recon_runs_status" CHECK (status IN ('running', 'completed', 'failed'));
ALTER TABLE "recon_period_closes" ADD CONSTRAINT "recon_period_closes_period" CHECK (period_from <= period_to);
ALTER TABLE "recon_period_closes" ADD CONSTRAINT "recon_period_closes_status" CHECK (status IN ('closed', 'reopened') AND (status = 'reopened') = (reopened_at IS NOT NULL));

-- Append-only tables: the evidence of what was imported, and every timeline.
CREATE TRIGGER "recon_csv_mappings_append_only" BEFORE UPDATE OR DELETE ON "recon_csv_mappings" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_csv_mappings_no_truncate" BEFORE TRUNCATE ON "recon_csv_mappings" FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_imports_append_only" BEFORE UPDATE OR DELETE ON "recon_imports" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_imports_no_truncate" BEFORE TRUNCATE ON "recon_imports" FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_statements_append_only" BEFORE UPDATE OR DELETE ON "recon_statements" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_statements_no_truncate" BEFORE TRUNCATE ON "recon_statements" FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_lines_append_only" BEFORE UPDATE OR DELETE ON "recon_lines" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_lines_no_truncate" BEFORE TRUNCATE ON "recon_lines" FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_break_events_append_only" BEFORE UPDATE OR DELETE ON "recon_break_events" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_break_events_no_truncate" BEFORE TRUNCATE ON "recon_break_events" FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_breaks_no_delete" BEFORE DELETE ON "recon_breaks" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_breaks_no_truncate" BEFORE TRUNCATE ON "recon_breaks" FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_sources_no_delete" BEFORE DELETE ON "recon_sources" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_matches_no_delete" BEFORE DELETE ON "recon_matches" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_rule_sets_no_delete" BEFORE DELETE ON "recon_rule_sets" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER "recon_period_closes_no_delete" BEFORE DELETE ON "recon_period_closes" FOR EACH ROW EXECUTE FUNCTION refuse_mutation();

-- A source's currency is its ledger account's; what it reconciles never changes.
CREATE OR REPLACE FUNCTION recon_sources_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_currency char(3);
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.kind IS DISTINCT FROM OLD.kind OR NEW.ledger_account_id IS DISTINCT FROM OLD.ledger_account_id OR NEW.currency IS DISTINCT FROM OLD.currency) THEN
    RAISE EXCEPTION 'recon source %: kind, ledger account and currency never change', OLD.id USING ERRCODE = 'RC002';
  END IF;
  SELECT currency INTO v_currency FROM ledger_accounts WHERE id = NEW.ledger_account_id;
  IF v_currency IS DISTINCT FROM NEW.currency THEN
    RAISE EXCEPTION 'recon source %: currency % is not its ledger account''s (%)', NEW.name, NEW.currency, v_currency USING ERRCODE = 'RC002';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "recon_sources_guard" BEFORE INSERT OR UPDATE ON "recon_sources" FOR EACH ROW EXECUTE FUNCTION recon_sources_guard();

-- A rule set that left draft is history: its rules and threshold never change.
CREATE OR REPLACE FUNCTION recon_rule_sets_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version IS DISTINCT FROM OLD.version THEN
    RAISE EXCEPTION 'recon rule set %: the version number never changes', OLD.version USING ERRCODE = 'RC002';
  END IF;
  IF OLD.status <> 'draft' AND (NEW.rules IS DISTINCT FROM OLD.rules OR NEW.auto_apply_threshold IS DISTINCT FROM OLD.auto_apply_threshold) THEN
    RAISE EXCEPTION 'recon rule set %: % rules never change; make a new draft', OLD.version, OLD.status USING ERRCODE = 'RC002';
  END IF;
  IF OLD.status = 'retired' AND NEW.status <> 'retired' THEN
    RAISE EXCEPTION 'recon rule set %: a retired version stays retired', OLD.version USING ERRCODE = 'RC002';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "recon_rule_sets_guard" BEFORE UPDATE ON "recon_rule_sets" FOR EACH ROW EXECUTE FUNCTION recon_rule_sets_guard();

-- A break keeps what it is about.
CREATE OR REPLACE FUNCTION recon_breaks_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.type IS DISTINCT FROM OLD.type OR NEW.source_id IS DISTINCT FROM OLD.source_id OR NEW.line_id IS DISTINCT FROM OLD.line_id
     OR NEW.posting_id IS DISTINCT FROM OLD.posting_id OR NEW.statement_id IS DISTINCT FROM OLD.statement_id OR NEW.opened_at IS DISTINCT FROM OLD.opened_at
     OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor OR NEW.currency IS DISTINCT FROM OLD.currency THEN
    RAISE EXCEPTION 'recon break %: what it is about never changes', OLD.id USING ERRCODE = 'RC002';
  END IF;
  IF OLD.status = 'resolved' THEN
    RAISE EXCEPTION 'recon break % is resolved: it never changes again', OLD.id USING ERRCODE = 'RC002';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "recon_breaks_guard" BEFORE UPDATE ON "recon_breaks" FOR EACH ROW EXECUTE FUNCTION recon_breaks_guard();

-- A closed period changes once: it is reopened (an approved proposal), and nothing else.
CREATE OR REPLACE FUNCTION recon_period_closes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'closed' OR NEW.status <> 'reopened' OR NEW.source_id IS DISTINCT FROM OLD.source_id
     OR NEW.ledger_account_id IS DISTINCT FROM OLD.ledger_account_id OR NEW.period_from IS DISTINCT FROM OLD.period_from
     OR NEW.period_to IS DISTINCT FROM OLD.period_to OR NEW.closed_at IS DISTINCT FROM OLD.closed_at OR NEW.closed_by IS DISTINCT FROM OLD.closed_by
     OR NEW.reason IS DISTINCT FROM OLD.reason THEN
    RAISE EXCEPTION 'closed period %: only reopening it (closed -> reopened) is allowed', OLD.id USING ERRCODE = 'RC002';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "recon_period_closes_guard" BEFORE UPDATE ON "recon_period_closes" FOR EACH ROW EXECUTE FUNCTION recon_period_closes_guard();

-- The period lock: no posting on an account inside one of its closed periods, whatever writes it.
-- Days are UTC calendar days: a period [from, to] covers effective times from `from` 00:00 UTC up
-- to but excluding `to` + 1 day 00:00 UTC. One check per INSERT statement (transition table),
-- and none at all while no period is closed anywhere.
CREATE OR REPLACE FUNCTION postings_check_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM recon_period_closes WHERE status = 'closed') THEN
    RETURN NULL;
  END IF;
  SELECT a.code, c.period_from, c.period_to, e.effective_at, c.id AS close_id INTO r
    FROM new_postings p
    JOIN recon_period_closes c ON c.ledger_account_id = p.account_id AND c.status = 'closed'
    JOIN journal_entries e ON e.id = p.entry_id
    JOIN ledger_accounts a ON a.id = p.account_id
   WHERE e.effective_at >= (c.period_from::timestamp AT TIME ZONE 'UTC')
     AND e.effective_at < ((c.period_to + 1)::timestamp AT TIME ZONE 'UTC')
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'account % is closed for % to %: a posting effective at % is refused (closed period %)',
      r.code, r.period_from, r.period_to, r.effective_at, r.close_id USING ERRCODE = 'RC001';
  END IF;
  RETURN NULL;
END;
$$;
ALTER FUNCTION postings_check_closed_period() SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
CREATE TRIGGER "postings_check_closed_period" AFTER INSERT ON "postings" REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION postings_check_closed_period();

-- The initial matching rules (server/recon/rules.ts DEFAULT_RULES), active from the start.
INSERT INTO "recon_rule_sets" (version, status, rules, auto_apply_threshold, active_marker, note, created_at, created_by, activated_at)
VALUES (1, 'active', '[{"kind":"reference","enabled":true,"dateWindowDays":7},{"kind":"many_lines_one_item","enabled":true,"dateWindowDays":7,"maxLines":10},{"kind":"one_line_many_items","enabled":true,"dateWindowDays":3,"maxItems":500},{"kind":"reference_tolerance","enabled":true,"dateWindowDays":7,"toleranceMinor":"500","toleranceBps":100},{"kind":"amount_date","enabled":true,"dateWindowDays":3,"minReferenceOverlap":8}]'::jsonb,
        90, true, 'initial rules', now(), 'migration', now());
