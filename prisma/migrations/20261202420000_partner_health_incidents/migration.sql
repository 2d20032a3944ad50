-- Partner health and incidents (issue 13; server/slo/partner-health.ts, incidents.ts).

-- Partner calls by time: a BRIN index (calls are appended in time order, so it costs next to
-- nothing on the write path) for the worker's per-minute partner sample.
CREATE INDEX "partner_requests_started_at_idx" ON "partner_requests" USING BRIN ("started_at");

CREATE TABLE "slo_partner_minutes" (
    "minute" TIMESTAMPTZ(6) NOT NULL,
    "partner" TEXT NOT NULL,
    "rail" TEXT NOT NULL,
    "calls" INTEGER NOT NULL,
    "accepted" INTEGER NOT NULL,
    "rejected" INTEGER NOT NULL,
    "retryable" INTEGER NOT NULL,
    "unknown" INTEGER NOT NULL,
    "latency_ms_sum" BIGINT NOT NULL,
    "latency_ms_max" INTEGER NOT NULL,
    "latency_counts" INTEGER[],

    CONSTRAINT "slo_partner_minutes_pkey" PRIMARY KEY ("minute","partner","rail")
);

CREATE TABLE "incidents" (
    "id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'open',
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "ended_at" TIMESTAMPTZ(6),
    "partner" TEXT,
    "rail" TEXT,
    "component" TEXT,
    "slo_key" TEXT,
    "notes" TEXT NOT NULL DEFAULT '',
    "opened_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "incidents_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "incident_transfers" (
    "incident_id" UUID NOT NULL,
    "transfer_id" UUID NOT NULL,
    "linked_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "incident_transfers_pkey" PRIMARY KEY ("incident_id","transfer_id")
);

CREATE INDEX "incidents_started_at_id_idx" ON "incidents"("started_at" DESC, "id" DESC);
CREATE INDEX "incidents_status_started_at_idx" ON "incidents"("status", "started_at");
CREATE INDEX "incident_transfers_transfer_id_idx" ON "incident_transfers"("transfer_id");

ALTER TABLE "incident_transfers" ADD CONSTRAINT "incident_transfers_incident_id_fkey" FOREIGN KEY ("incident_id") REFERENCES "incidents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Rules Prisma cannot express.
ALTER TABLE "slo_partner_minutes" ADD CONSTRAINT "slo_partner_minutes_latency" CHECK (cardinality("latency_counts") = 24);
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_severity" CHECK ("severity" IN ('sev1', 'sev2', 'sev3', 'sev4'));
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_status" CHECK ("status" IN ('open', 'resolved'));
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_interval" CHECK ("ended_at" IS NULL OR "ended_at" >= "started_at");
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_resolved_when_ended" CHECK (("status" = 'resolved') = ("ended_at" IS NOT NULL));
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_title" CHECK (length("title") BETWEEN 1 AND 200);

CREATE FUNCTION incidents_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'incidents and their linked transfers are never deleted' USING ERRCODE = 'SL002';
END $$;
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON "incidents" FOR EACH ROW EXECUTE FUNCTION incidents_no_delete();
CREATE TRIGGER incidents_no_truncate BEFORE TRUNCATE ON "incidents" FOR EACH STATEMENT EXECUTE FUNCTION incidents_no_delete();
CREATE TRIGGER incident_transfers_no_delete BEFORE DELETE ON "incident_transfers" FOR EACH ROW EXECUTE FUNCTION incidents_no_delete();
CREATE TRIGGER incident_transfers_no_truncate BEFORE TRUNCATE ON "incident_transfers" FOR EACH STATEMENT EXECUTE FUNCTION incidents_no_delete();
