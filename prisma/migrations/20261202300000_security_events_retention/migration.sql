-- Security events (issue 14, point 10): repeats are aggregated, and old rows are pruned.
-- A refusal from the same client address with the same kind and detail within one minute adds
-- to `count` of one row (INSERT ... ON CONFLICT (fingerprint, bucket_start)); the worker deletes
-- rows whose last_at is older than SECURITY_EVENTS_RETENTION_DAYS.

-- AlterTable
ALTER TABLE "security_events" ADD COLUMN     "bucket_start" TIMESTAMPTZ(3),
ADD COLUMN     "count" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "fingerprint" TEXT,
ADD COLUMN     "last_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- Existing rows: their last time is their creation time (before the new guard exists).
DROP TRIGGER "security_events_append_only" ON "security_events";
UPDATE "security_events" SET "last_at" = "created_at";

-- CreateIndex
CREATE INDEX "security_events_last_at_idx" ON "security_events"("last_at");

-- CreateIndex
CREATE UNIQUE INDEX "security_events_fingerprint_bucket_start_key" ON "security_events"("fingerprint", "bucket_start");

-- Was append-only. Now: an UPDATE may only add repeats (count up, last_at forward, nothing else
-- changes); a DELETE may only remove a row whose last repeat is more than a day old (retention is
-- configured in days, at least one); TRUNCATE stays refused.
CREATE FUNCTION security_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.detail IS DISTINCT FROM OLD.detail
       OR NEW.ip IS DISTINCT FROM OLD.ip OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.fingerprint IS DISTINCT FROM OLD.fingerprint OR NEW.bucket_start IS DISTINCT FROM OLD.bucket_start
       OR NEW.count < OLD.count OR NEW.last_at < OLD.last_at THEN
      RAISE EXCEPTION 'security_events: an update may only add repeats (count, last_at)'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.last_at >= now() - interval '1 day' THEN
    RAISE EXCEPTION 'security_events: only rows older than a day may be deleted (retention)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END;
$$;

CREATE TRIGGER "security_events_guard" BEFORE UPDATE OR DELETE ON "security_events"
  FOR EACH ROW EXECUTE FUNCTION security_events_guard();
