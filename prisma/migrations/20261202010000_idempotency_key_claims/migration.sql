-- Claiming idempotency keys (server/ledger/idempotency.ts).
--
-- A ledger transaction takes a transaction-level advisory lock for each idempotency key it serves
-- before it reads any state. A duplicate of a request that is still in flight therefore waits for
-- the first to commit or roll back and then finds its stored result, instead of checking its rules
-- against balances the first one has just changed (which answered an applied request with
-- INSUFFICIENT_FUNDS). The wait is bounded: past wait_ms the duplicate is refused with SQLSTATE
-- LG010, which the API answers as the retryable IDEMPOTENCY_IN_PROGRESS.
--
-- Locks are taken in ascending id order so that transactions claiming several keys (a group
-- commit) cannot deadlock on each other, and always before any row lock of the ledger. The lock
-- ids are 32-bit hashes of the stored keys computed by the application, under a class id of their
-- own (0x4C444731, "LDG1"); two keys that share a hash only wait for each other.
CREATE FUNCTION ledger_lock_keys(lock_ids int4[], wait_ms int4) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  lock_id int4;
  previous_timeout text;
BEGIN
  FOR lock_id IN SELECT DISTINCT x FROM unnest(lock_ids) AS x ORDER BY x LOOP
    CONTINUE WHEN pg_try_advisory_xact_lock(1279543089, lock_id);
    -- Contended: another transaction serves the same key. Wait for it, for at most wait_ms.
    previous_timeout := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', wait_ms::text || 'ms', true);
    BEGIN
      PERFORM pg_advisory_xact_lock(1279543089, lock_id);
    EXCEPTION WHEN lock_not_available THEN
      RAISE EXCEPTION 'a request with the same idempotency key is still in progress after % ms', wait_ms
        USING ERRCODE = 'LG010';
    END;
    PERFORM set_config('lock_timeout', previous_timeout, true);
  END LOOP;
END $$;

-- Locks the keys, then returns the stored records of those that were already served. The lookup
-- runs after the locks are held and, this function being VOLATILE, with a snapshot taken then:
-- it sees a record committed by the transaction it waited for.
CREATE FUNCTION ledger_claim_keys(keys text[], lock_ids int4[], wait_ms int4)
RETURNS TABLE (key text, request_hash text, response jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM ledger_lock_keys(lock_ids, wait_ms);
  RETURN QUERY SELECT r.key, r.request_hash, r.response FROM idempotency_records r WHERE r.key = ANY(keys);
END $$;
ALTER FUNCTION ledger_claim_keys(text[], int4[], int4) SET enable_seqscan = off;
