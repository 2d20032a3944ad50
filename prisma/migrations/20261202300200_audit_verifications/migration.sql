-- Audit chain verification runs (issue 14, point 9): the walk over the whole log runs in the
-- worker, one at a time; the API reads the last result and asks for a new run by adding a
-- 'requested' row (at most one open at a time).

-- CreateTable
CREATE TABLE "audit_verifications" (
    "id" BIGSERIAL NOT NULL,
    "status" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "requested_by" TEXT,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "is_intact" BOOLEAN,
    "checked_count" BIGINT,
    "first_break" JSONB,
    "error" TEXT,

    CONSTRAINT "audit_verifications_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "audit_verifications_status_check" CHECK ("status" IN ('requested', 'running', 'done', 'failed')),
    CONSTRAINT "audit_verifications_trigger_check" CHECK ("trigger" IN ('schedule', 'request'))
);

-- CreateIndex
CREATE INDEX "audit_verifications_status_id_idx" ON "audit_verifications"("status", "id");
