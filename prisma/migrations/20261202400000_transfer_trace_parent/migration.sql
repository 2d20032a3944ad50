-- Observability (issue 13): the W3C traceparent of the API call that created a transfer. Its trace
-- id is the transfer's correlation id; jobs, partner calls and webhook processing continue it.
-- Nullable: transfers created before this migration, and by callers outside any request, have none.
ALTER TABLE "transfers" ADD COLUMN "trace_parent" TEXT;
