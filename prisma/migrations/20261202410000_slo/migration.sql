-- SLOs and their data (issue 13; server/slo).
--
-- slo_definitions: the objectives, edited by admins (audited by the application).
-- slo_transfer_deltas / slo_transfer_minutes: outcome counts and a create-to-settled latency
-- histogram of transfers by the minute they were CREATED, rail and partner. A statement-level
-- trigger on transfer_events appends one delta row per group of each statement that records
-- terminal outcomes (settled, failed, cancelled): an append, never an update, so concurrent
-- writers never wait on a rollup row. The worker folds deltas into the minutes table (job
-- slo-fold); readers add what is not folded yet. Because the bucket is the creation minute, an
-- outcome that arrives late (a webhook a day late) changes its own transfer's minute.
-- slo_transfer_hours: the same by UTC hour, kept by the same fold (charts over weeks read it).
-- slo_minute_samples: what the worker saw once a minute (stuck transfers, webhook lag), for the
-- time-slice objectives. slo_alert_states: the last evaluated burn-rate alert of each objective.

CREATE TABLE "slo_definitions" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "indicator" TEXT NOT NULL,
    "target" DECIMAL(8,6) NOT NULL,
    "window_days" INTEGER NOT NULL,
    "threshold_ms" BIGINT,
    "threshold_count" INTEGER,
    "rail" TEXT,
    "partner" TEXT,
    "is_enabled" BOOLEAN NOT NULL DEFAULT true,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "slo_definitions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "slo_transfer_minutes" (
    "minute" TIMESTAMPTZ(6) NOT NULL,
    "rail" TEXT NOT NULL,
    "partner" TEXT NOT NULL,
    "settled" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "failed_excluded" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "latency_counts" INTEGER[],

    CONSTRAINT "slo_transfer_minutes_pkey" PRIMARY KEY ("minute","rail","partner")
);

CREATE TABLE "slo_transfer_hours" (
    "hour" TIMESTAMPTZ(6) NOT NULL,
    "rail" TEXT NOT NULL,
    "partner" TEXT NOT NULL,
    "settled" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "failed_excluded" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "latency_counts" INTEGER[],

    CONSTRAINT "slo_transfer_hours_pkey" PRIMARY KEY ("hour","rail","partner")
);

CREATE TABLE "slo_transfer_deltas" (
    "id" BIGSERIAL NOT NULL,
    "minute" TIMESTAMPTZ(6) NOT NULL,
    "rail" TEXT NOT NULL,
    "partner" TEXT NOT NULL,
    "settled" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "failed_excluded" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "latency_counts" INTEGER[],

    CONSTRAINT "slo_transfer_deltas_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "slo_minute_samples" (
    "minute" TIMESTAMPTZ(6) NOT NULL,
    "stuck_count" INTEGER NOT NULL,
    "webhook_lag_ms" BIGINT NOT NULL,
    "webhook_backlog" INTEGER NOT NULL,
    "sampled_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "slo_minute_samples_pkey" PRIMARY KEY ("minute")
);

CREATE TABLE "slo_alert_states" (
    "slo_id" UUID NOT NULL,
    "level" TEXT NOT NULL,
    "since" TIMESTAMPTZ(6) NOT NULL,
    "evaluated_at" TIMESTAMPTZ(6) NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "slo_alert_states_pkey" PRIMARY KEY ("slo_id")
);

CREATE UNIQUE INDEX "slo_definitions_key_key" ON "slo_definitions"("key");

ALTER TABLE "slo_alert_states" ADD CONSTRAINT "slo_alert_states_slo_id_fkey" FOREIGN KEY ("slo_id") REFERENCES "slo_definitions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Rules Prisma cannot express.
ALTER TABLE "slo_definitions" ADD CONSTRAINT "slo_definitions_target" CHECK ("target" > 0 AND "target" < 1);
ALTER TABLE "slo_definitions" ADD CONSTRAINT "slo_definitions_window" CHECK ("window_days" BETWEEN 1 AND 90);
ALTER TABLE "slo_definitions" ADD CONSTRAINT "slo_definitions_indicator" CHECK ("indicator" IN
  ('transfer_success', 'settlement_latency', 'stuck_transfers', 'webhook_lag', 'recon_match_rate', 'recon_break_age'));
ALTER TABLE "slo_definitions" ADD CONSTRAINT "slo_definitions_thresholds" CHECK (coalesce("threshold_ms", 0) >= 0 AND coalesce("threshold_count", 0) >= 0);
ALTER TABLE "slo_definitions" ADD CONSTRAINT "slo_definitions_key_shape" CHECK ("key" ~ '^[a-z0-9][a-z0-9-]{0,62}$');
ALTER TABLE "slo_transfer_minutes" ADD CONSTRAINT "slo_transfer_minutes_latency" CHECK (cardinality("latency_counts") = 24);
ALTER TABLE "slo_transfer_hours" ADD CONSTRAINT "slo_transfer_hours_latency" CHECK (cardinality("latency_counts") = 24);
ALTER TABLE "slo_transfer_deltas" ADD CONSTRAINT "slo_transfer_deltas_latency" CHECK (cardinality("latency_counts") = 24);
ALTER TABLE "slo_alert_states" ADD CONSTRAINT "slo_alert_states_level" CHECK ("level" IN ('ok', 'ticket', 'page'));

CREATE FUNCTION slo_definitions_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'SLO definitions are never deleted; disable the objective instead' USING ERRCODE = 'SL001';
END $$;
CREATE TRIGGER slo_definitions_no_delete BEFORE DELETE ON "slo_definitions" FOR EACH ROW EXECUTE FUNCTION slo_definitions_no_delete();
CREATE TRIGGER slo_definitions_no_truncate BEFORE TRUNCATE ON "slo_definitions" FOR EACH STATEMENT EXECUTE FUNCTION slo_definitions_no_delete();

-- Failures the customer caused: excluded from the success objective (neither good nor bad). A hold
-- the ledger refused (insufficient funds, a frozen account) and the bank's failures for the
-- beneficiary's account or the payment's compliance. Kept equal to CUSTOMER_FAILURE_REASONS in
-- server/slo/rollup.ts (a unit test compares them).
CREATE FUNCTION slo_is_customer_failure(cause text, detail jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT cause = 'reserve_refused'
      OR (cause LIKE 'webhook.failed%' AND coalesce(detail->>'partnerReason', '') IN ('beneficiary_account_closed', 'beneficiary_name_mismatch', 'compliance_hold_rejected'))
$$;

-- The latency histogram's bucket of a create-to-settled duration in milliseconds: 0 for
-- (0, 100], 1 for (100, 250], ... 23 above the last bound. Kept equal to LATENCY_BOUNDS_MS in
-- server/slo/rollup.ts (a unit test compares them).
CREATE FUNCTION slo_latency_bucket(ms bigint) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT width_bucket(greatest(ms, 1) - 1, ARRAY[100,250,500,1000,2000,5000,10000,30000,60000,120000,300000,600000,900000,1800000,3600000,7200000,14400000,28800000,43200000,86400000,172800000,259200000,604800000]::bigint[])
$$;

-- The write path: one appended delta row per (creation minute, rail, partner) of the terminal
-- events a statement recorded. Reaches transfers only by primary key.
CREATE FUNCTION transfer_events_slo_rollup() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
  INSERT INTO slo_transfer_deltas (minute, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts)
  SELECT s.minute, s.rail, s.partner,
         count(*) FILTER (WHERE s.is_settled)::int,
         count(*) FILTER (WHERE s.to_state = 'failed' AND NOT s.is_excluded)::int,
         count(*) FILTER (WHERE s.to_state = 'failed' AND s.is_excluded)::int,
         count(*) FILTER (WHERE s.to_state = 'cancelled')::int,
         ARRAY[
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 0)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 1)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 2)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 3)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 4)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 5)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 6)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 7)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 8)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 9)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 10)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 11)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 12)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 13)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 14)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 15)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 16)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 17)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 18)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 19)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 20)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 21)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 22)::int,
           count(*) FILTER (WHERE s.is_settled AND s.bucket = 23)::int
         ]
    FROM (
      SELECT date_trunc('minute', t.created_at) AS minute, t.rail, t.partner, e.to_state,
             e.to_state = 'settled' AS is_settled,
             e.to_state = 'failed' AND slo_is_customer_failure(e.cause, e.detail) AS is_excluded,
             slo_latency_bucket((extract(epoch FROM e.created_at - t.created_at) * 1000)::bigint) AS bucket
        FROM new_events e JOIN transfers t ON t.id = e.transfer_id
       WHERE e.to_state IN ('settled', 'failed', 'cancelled')
    ) s
   GROUP BY s.minute, s.rail, s.partner
   ORDER BY s.minute, s.rail, s.partner;
  RETURN NULL;
END $$;
CREATE TRIGGER transfer_events_slo_rollup AFTER INSERT ON "transfer_events"
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION transfer_events_slo_rollup();

-- Folds up to max_rows deltas into the minutes and hours tables, oldest first; returns how many it folded.
-- One folder at a time (a transaction-level advisory lock; a second caller folds nothing).
CREATE FUNCTION slo_fold_deltas(max_rows int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  folded int;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1397509958) THEN  -- 'SLOF'
    RETURN 0;
  END IF;
  WITH moved AS (
    DELETE FROM slo_transfer_deltas WHERE id IN (SELECT id FROM slo_transfer_deltas ORDER BY id LIMIT max_rows)
    RETURNING minute, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts
  ), grouped AS (
    SELECT m.minute, m.rail, m.partner, sum(m.settled)::int AS settled, sum(m.failed)::int AS failed,
           sum(m.failed_excluded)::int AS failed_excluded, sum(m.cancelled)::int AS cancelled,
           ARRAY[sum(m.latency_counts[1])::int, sum(m.latency_counts[2])::int, sum(m.latency_counts[3])::int, sum(m.latency_counts[4])::int, sum(m.latency_counts[5])::int, sum(m.latency_counts[6])::int, sum(m.latency_counts[7])::int, sum(m.latency_counts[8])::int, sum(m.latency_counts[9])::int, sum(m.latency_counts[10])::int, sum(m.latency_counts[11])::int, sum(m.latency_counts[12])::int, sum(m.latency_counts[13])::int, sum(m.latency_counts[14])::int, sum(m.latency_counts[15])::int, sum(m.latency_counts[16])::int, sum(m.latency_counts[17])::int, sum(m.latency_counts[18])::int, sum(m.latency_counts[19])::int, sum(m.latency_counts[20])::int, sum(m.latency_counts[21])::int, sum(m.latency_counts[22])::int, sum(m.latency_counts[23])::int, sum(m.latency_counts[24])::int] AS latency_counts,
           count(*) AS n
      FROM moved m GROUP BY m.minute, m.rail, m.partner
  ), upserted AS (
    INSERT INTO slo_transfer_minutes (minute, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts)
    SELECT minute, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts FROM grouped
    ORDER BY minute, rail, partner
    ON CONFLICT (minute, rail, partner) DO UPDATE SET
      settled = slo_transfer_minutes.settled + excluded.settled,
      failed = slo_transfer_minutes.failed + excluded.failed,
      failed_excluded = slo_transfer_minutes.failed_excluded + excluded.failed_excluded,
      cancelled = slo_transfer_minutes.cancelled + excluded.cancelled,
      latency_counts = ARRAY[slo_transfer_minutes.latency_counts[1] + excluded.latency_counts[1], slo_transfer_minutes.latency_counts[2] + excluded.latency_counts[2], slo_transfer_minutes.latency_counts[3] + excluded.latency_counts[3], slo_transfer_minutes.latency_counts[4] + excluded.latency_counts[4], slo_transfer_minutes.latency_counts[5] + excluded.latency_counts[5], slo_transfer_minutes.latency_counts[6] + excluded.latency_counts[6], slo_transfer_minutes.latency_counts[7] + excluded.latency_counts[7], slo_transfer_minutes.latency_counts[8] + excluded.latency_counts[8], slo_transfer_minutes.latency_counts[9] + excluded.latency_counts[9], slo_transfer_minutes.latency_counts[10] + excluded.latency_counts[10], slo_transfer_minutes.latency_counts[11] + excluded.latency_counts[11], slo_transfer_minutes.latency_counts[12] + excluded.latency_counts[12], slo_transfer_minutes.latency_counts[13] + excluded.latency_counts[13], slo_transfer_minutes.latency_counts[14] + excluded.latency_counts[14], slo_transfer_minutes.latency_counts[15] + excluded.latency_counts[15], slo_transfer_minutes.latency_counts[16] + excluded.latency_counts[16], slo_transfer_minutes.latency_counts[17] + excluded.latency_counts[17], slo_transfer_minutes.latency_counts[18] + excluded.latency_counts[18], slo_transfer_minutes.latency_counts[19] + excluded.latency_counts[19], slo_transfer_minutes.latency_counts[20] + excluded.latency_counts[20], slo_transfer_minutes.latency_counts[21] + excluded.latency_counts[21], slo_transfer_minutes.latency_counts[22] + excluded.latency_counts[22], slo_transfer_minutes.latency_counts[23] + excluded.latency_counts[23], slo_transfer_minutes.latency_counts[24] + excluded.latency_counts[24]]
  ), hourly AS (
    SELECT date_trunc('hour', g.minute, 'UTC') AS hour, g.rail, g.partner, sum(g.settled)::int AS settled, sum(g.failed)::int AS failed,
           sum(g.failed_excluded)::int AS failed_excluded, sum(g.cancelled)::int AS cancelled, ARRAY[sum(g.latency_counts[1])::int, sum(g.latency_counts[2])::int, sum(g.latency_counts[3])::int, sum(g.latency_counts[4])::int, sum(g.latency_counts[5])::int, sum(g.latency_counts[6])::int, sum(g.latency_counts[7])::int, sum(g.latency_counts[8])::int, sum(g.latency_counts[9])::int, sum(g.latency_counts[10])::int, sum(g.latency_counts[11])::int, sum(g.latency_counts[12])::int, sum(g.latency_counts[13])::int, sum(g.latency_counts[14])::int, sum(g.latency_counts[15])::int, sum(g.latency_counts[16])::int, sum(g.latency_counts[17])::int, sum(g.latency_counts[18])::int, sum(g.latency_counts[19])::int, sum(g.latency_counts[20])::int, sum(g.latency_counts[21])::int, sum(g.latency_counts[22])::int, sum(g.latency_counts[23])::int, sum(g.latency_counts[24])::int] AS latency_counts
      FROM grouped g GROUP BY 1, 2, 3
  ), upserted_hours AS (
    INSERT INTO slo_transfer_hours (hour, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts)
    SELECT hour, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts FROM hourly
    ORDER BY hour, rail, partner
    ON CONFLICT (hour, rail, partner) DO UPDATE SET
      settled = slo_transfer_hours.settled + excluded.settled,
      failed = slo_transfer_hours.failed + excluded.failed,
      failed_excluded = slo_transfer_hours.failed_excluded + excluded.failed_excluded,
      cancelled = slo_transfer_hours.cancelled + excluded.cancelled,
      latency_counts = ARRAY[slo_transfer_hours.latency_counts[1] + excluded.latency_counts[1], slo_transfer_hours.latency_counts[2] + excluded.latency_counts[2], slo_transfer_hours.latency_counts[3] + excluded.latency_counts[3], slo_transfer_hours.latency_counts[4] + excluded.latency_counts[4], slo_transfer_hours.latency_counts[5] + excluded.latency_counts[5], slo_transfer_hours.latency_counts[6] + excluded.latency_counts[6], slo_transfer_hours.latency_counts[7] + excluded.latency_counts[7], slo_transfer_hours.latency_counts[8] + excluded.latency_counts[8], slo_transfer_hours.latency_counts[9] + excluded.latency_counts[9], slo_transfer_hours.latency_counts[10] + excluded.latency_counts[10], slo_transfer_hours.latency_counts[11] + excluded.latency_counts[11], slo_transfer_hours.latency_counts[12] + excluded.latency_counts[12], slo_transfer_hours.latency_counts[13] + excluded.latency_counts[13], slo_transfer_hours.latency_counts[14] + excluded.latency_counts[14], slo_transfer_hours.latency_counts[15] + excluded.latency_counts[15], slo_transfer_hours.latency_counts[16] + excluded.latency_counts[16], slo_transfer_hours.latency_counts[17] + excluded.latency_counts[17], slo_transfer_hours.latency_counts[18] + excluded.latency_counts[18], slo_transfer_hours.latency_counts[19] + excluded.latency_counts[19], slo_transfer_hours.latency_counts[20] + excluded.latency_counts[20], slo_transfer_hours.latency_counts[21] + excluded.latency_counts[21], slo_transfer_hours.latency_counts[22] + excluded.latency_counts[22], slo_transfer_hours.latency_counts[23] + excluded.latency_counts[23], slo_transfer_hours.latency_counts[24] + excluded.latency_counts[24]]
  )
  -- (A data-modifying CTE runs whether or not it is read.)
  SELECT coalesce(sum(n), 0)::int INTO folded FROM grouped;
  RETURN folded;
END $$;

-- What happened before this migration: every terminal event already recorded, in its minute.
INSERT INTO slo_transfer_minutes (minute, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts)
SELECT s.minute, s.rail, s.partner,
       count(*) FILTER (WHERE s.is_settled)::int,
       count(*) FILTER (WHERE s.to_state = 'failed' AND NOT s.is_excluded)::int,
       count(*) FILTER (WHERE s.to_state = 'failed' AND s.is_excluded)::int,
       count(*) FILTER (WHERE s.to_state = 'cancelled')::int,
       ARRAY[
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 0)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 1)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 2)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 3)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 4)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 5)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 6)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 7)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 8)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 9)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 10)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 11)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 12)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 13)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 14)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 15)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 16)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 17)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 18)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 19)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 20)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 21)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 22)::int,
         count(*) FILTER (WHERE s.is_settled AND s.bucket = 23)::int
       ]
  FROM (
    SELECT date_trunc('minute', t.created_at) AS minute, t.rail, t.partner, e.to_state,
           e.to_state = 'settled' AS is_settled,
           e.to_state = 'failed' AND slo_is_customer_failure(e.cause, e.detail) AS is_excluded,
           slo_latency_bucket((extract(epoch FROM e.created_at - t.created_at) * 1000)::bigint) AS bucket
      FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id
     WHERE e.to_state IN ('settled', 'failed', 'cancelled')
  ) s
 GROUP BY s.minute, s.rail, s.partner;

INSERT INTO slo_transfer_hours (hour, rail, partner, settled, failed, failed_excluded, cancelled, latency_counts)
SELECT date_trunc('hour', m.minute, 'UTC'), m.rail, m.partner, sum(m.settled)::int, sum(m.failed)::int, sum(m.failed_excluded)::int, sum(m.cancelled)::int,
       ARRAY[sum(m.latency_counts[1])::int, sum(m.latency_counts[2])::int, sum(m.latency_counts[3])::int, sum(m.latency_counts[4])::int, sum(m.latency_counts[5])::int, sum(m.latency_counts[6])::int, sum(m.latency_counts[7])::int, sum(m.latency_counts[8])::int, sum(m.latency_counts[9])::int, sum(m.latency_counts[10])::int, sum(m.latency_counts[11])::int, sum(m.latency_counts[12])::int, sum(m.latency_counts[13])::int, sum(m.latency_counts[14])::int, sum(m.latency_counts[15])::int, sum(m.latency_counts[16])::int, sum(m.latency_counts[17])::int, sum(m.latency_counts[18])::int, sum(m.latency_counts[19])::int, sum(m.latency_counts[20])::int, sum(m.latency_counts[21])::int, sum(m.latency_counts[22])::int, sum(m.latency_counts[23])::int, sum(m.latency_counts[24])::int]
  FROM slo_transfer_minutes m
 GROUP BY 1, 2, 3;
