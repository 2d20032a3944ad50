-- CreateEnum
CREATE TYPE "transfer_state" AS ENUM ('created', 'reserved', 'submitted', 'acknowledged', 'settled', 'failed', 'returned', 'cancelled');

-- CreateTable
CREATE TABLE "transfers" (
    "id" UUID NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "source_account_id" UUID NOT NULL,
    "counterparty_name" TEXT NOT NULL,
    "counterparty_account" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "rail" TEXT NOT NULL,
    "partner" TEXT NOT NULL,
    "reference" TEXT NOT NULL DEFAULT '',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "state" "transfer_state" NOT NULL DEFAULT 'created',
    "state_changed_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "created_by" TEXT NOT NULL,
    "hold_id" UUID,
    "settlement_entry_id" UUID,
    "return_entry_id" UUID,
    "partner_ref" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(6),
    "lease_until" TIMESTAMPTZ(6),
    "last_error" TEXT,
    "attention_reason" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "transfers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transfer_events" (
    "id" BIGSERIAL NOT NULL,
    "transfer_id" UUID NOT NULL,
    "from_state" "transfer_state",
    "to_state" "transfer_state" NOT NULL,
    "cause" TEXT NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "partner_message_id" TEXT,
    "detail" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "transfer_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "partner_requests" (
    "id" BIGSERIAL NOT NULL,
    "transfer_id" UUID NOT NULL,
    "partner" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "request" JSONB NOT NULL,
    "response" JSONB,
    "outcome" TEXT,
    "http_status" INTEGER,
    "error" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "finished_at" TIMESTAMPTZ(6),
    "duration_ms" INTEGER,

    CONSTRAINT "partner_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rail_policies" (
    "partner" TEXT NOT NULL,
    "rail" TEXT NOT NULL,
    "max_submit_attempts" INTEGER NOT NULL,
    "backoff_base_ms" INTEGER NOT NULL,
    "backoff_max_ms" INTEGER NOT NULL,
    "submit_timeout_ms" INTEGER NOT NULL,
    "budget_created_seconds" INTEGER NOT NULL,
    "budget_reserved_seconds" INTEGER NOT NULL,
    "budget_submitted_seconds" INTEGER NOT NULL,
    "budget_acknowledged_seconds" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rail_policies_pkey" PRIMARY KEY ("partner","rail")
);

-- CreateIndex
CREATE UNIQUE INDEX "transfers_idempotency_key_key" ON "transfers"("idempotency_key");

-- CreateIndex
CREATE INDEX "transfers_created_at_id_idx" ON "transfers"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "transfers_state_created_at_id_idx" ON "transfers"("state", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "transfers_state_state_changed_at_idx" ON "transfers"("state", "state_changed_at");

-- CreateIndex
CREATE INDEX "transfers_source_account_id_created_at_idx" ON "transfers"("source_account_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "transfers_reference_idx" ON "transfers"("reference");

-- CreateIndex
CREATE INDEX "transfers_partner_partner_ref_idx" ON "transfers"("partner", "partner_ref");

-- CreateIndex
CREATE INDEX "transfers_amount_minor_idx" ON "transfers"("amount_minor");

-- CreateIndex
CREATE INDEX "transfer_events_transfer_id_id_idx" ON "transfer_events"("transfer_id", "id");

-- CreateIndex
CREATE INDEX "transfer_events_created_at_idx" ON "transfer_events"("created_at");

-- CreateIndex
CREATE INDEX "partner_requests_transfer_id_id_idx" ON "partner_requests"("transfer_id", "id");

-- AddForeignKey
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_source_account_id_fkey" FOREIGN KEY ("source_account_id") REFERENCES "ledger_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfer_events" ADD CONSTRAINT "transfer_events_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "partner_requests" ADD CONSTRAINT "partner_requests_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "transfers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- ---------------------------------------------------------------------------------------------
-- Rules the schema cannot express.

ALTER TABLE "transfers" ADD CONSTRAINT "transfers_amount_positive" CHECK ("amount_minor" > 0);
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_currency_format" CHECK ("currency" ~ '^[A-Z]{3}$');
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_attempts_nonneg" CHECK ("attempts" >= 0);

-- The state machine, enforced for every writer: a state changes only along an allowed edge,
-- terminal states (failed, returned, cancelled) are final, and what was asked for never changes.
CREATE FUNCTION transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'transfers are never deleted' USING ERRCODE = 'TR002';
  END IF;
  IF NEW.idempotency_key <> OLD.idempotency_key OR NEW.request_hash <> OLD.request_hash
     OR NEW.source_account_id <> OLD.source_account_id OR NEW.amount_minor <> OLD.amount_minor
     OR NEW.currency <> OLD.currency OR NEW.rail <> OLD.rail OR NEW.partner <> OLD.partner
     OR NEW.counterparty_name <> OLD.counterparty_name OR NEW.counterparty_account <> OLD.counterparty_account
     OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'transfer % : what was requested cannot change', OLD.id USING ERRCODE = 'TR002';
  END IF;
  IF NEW.state <> OLD.state AND NOT (
       (OLD.state = 'created'      AND NEW.state IN ('reserved', 'failed', 'cancelled')) OR
       (OLD.state = 'reserved'     AND NEW.state IN ('submitted', 'failed', 'cancelled')) OR
       (OLD.state = 'submitted'    AND NEW.state IN ('acknowledged', 'settled', 'failed')) OR
       (OLD.state = 'acknowledged' AND NEW.state IN ('settled', 'failed')) OR
       (OLD.state = 'settled'      AND NEW.state = 'returned')) THEN
    RAISE EXCEPTION 'transfer %: illegal transition % -> %', OLD.id, OLD.state, NEW.state USING ERRCODE = 'TR001';
  END IF;
  IF OLD.state IN ('failed', 'returned', 'cancelled') AND NEW.state = OLD.state
     AND (NEW.hold_id IS DISTINCT FROM OLD.hold_id OR NEW.settlement_entry_id IS DISTINCT FROM OLD.settlement_entry_id
          OR NEW.return_entry_id IS DISTINCT FROM OLD.return_entry_id) THEN
    RAISE EXCEPTION 'transfer % is % and final', OLD.id, OLD.state USING ERRCODE = 'TR001';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER transfers_guard BEFORE UPDATE OR DELETE ON "transfers"
  FOR EACH ROW EXECUTE FUNCTION transfers_guard();

CREATE FUNCTION transfer_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'transfer events are append-only' USING ERRCODE = 'TR003';
END $$;

CREATE TRIGGER transfer_events_append_only BEFORE UPDATE OR DELETE ON "transfer_events"
  FOR EACH ROW EXECUTE FUNCTION transfer_events_append_only();
CREATE TRIGGER transfer_events_no_truncate BEFORE TRUNCATE ON "transfer_events"
  FOR EACH STATEMENT EXECUTE FUNCTION transfer_events_append_only();

ALTER TABLE "rail_policies" ADD CONSTRAINT "rail_policies_sane" CHECK (
  "max_submit_attempts" BETWEEN 1 AND 50 AND "backoff_base_ms" BETWEEN 10 AND 600000
  AND "backoff_max_ms" BETWEEN "backoff_base_ms" AND 3600000 AND "submit_timeout_ms" BETWEEN 100 AND 120000
  AND "budget_created_seconds" > 0 AND "budget_reserved_seconds" > 0
  AND "budget_submitted_seconds" > 0 AND "budget_acknowledged_seconds" > 0);

-- The sandbox partner's rails. The batch rail settles at a daily cut-off, so its acknowledged
-- budget is a day and a bit.
INSERT INTO "rail_policies" ("partner", "rail", "max_submit_attempts", "backoff_base_ms", "backoff_max_ms", "submit_timeout_ms",
  "budget_created_seconds", "budget_reserved_seconds", "budget_submitted_seconds", "budget_acknowledged_seconds") VALUES
  ('sandbox', 'instant', 6, 200, 30000, 3000, 30, 120, 60, 300),
  ('sandbox', 'batch',   8, 500, 300000, 5000, 60, 600, 600, 93600);
