-- Ledger performance (issue 3 benchmark). No table or index changes; functions and triggers only.

-- 1. The audit append in one round trip. The caller (server/audit/audit-log.ts) sends the record's
--    canonical JSON split around the two fields only the database knows ("lane" and "laneSeq" sort
--    between "createdAt" and "reason"); this function takes a free lane head, computes the same
--    SHA-256 chain hash that hashRecord() computes in TypeScript (so server/audit/verify.ts checks it
--    unchanged from the stored row), inserts the record and advances the head.
CREATE OR REPLACE FUNCTION audit_append(
  p_prefix text, p_suffix text, p_actor_type text, p_actor_id text, p_actor_label text, p_action text,
  p_target_type text, p_target_id text, p_reason text, p_before jsonb, p_after jsonb, p_request_id text,
  p_created_at timestamptz, OUT id bigint, OUT hash text) LANGUAGE plpgsql AS $$
DECLARE
  v_lane integer;
  v_seq bigint;
  v_prev text;
BEGIN
  SELECT l.lane, l.last_seq + 1, l.last_hash INTO v_lane, v_seq, v_prev
    FROM audit_lanes l ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    -- Every lane is busy: wait for a random one rather than spin.
    SELECT l.lane, l.last_seq + 1, l.last_hash INTO v_lane, v_seq, v_prev
      FROM audit_lanes l ORDER BY random() LIMIT 1 FOR UPDATE;
  END IF;
  IF v_lane IS NULL THEN
    RAISE EXCEPTION 'audit_lanes is empty: the foundation migration did not run';
  END IF;
  hash := encode(sha256(convert_to(v_prev || E'\n' || p_prefix || ',"lane":' || v_lane || ',"laneSeq":"' || v_seq || '",' || p_suffix, 'UTF8')), 'hex');
  INSERT INTO audit_log (lane, lane_seq, actor_type, actor_id, actor_label, action, target_type, target_id,
                         reason, before, after, request_id, created_at, prev_hash, hash)
  VALUES (v_lane, v_seq, p_actor_type, p_actor_id, p_actor_label, p_action, p_target_type, p_target_id,
          p_reason, p_before, p_after, p_request_id, p_created_at, v_prev, hash)
  RETURNING audit_log.id INTO id;
  UPDATE audit_lanes SET last_seq = v_seq, last_hash = hash WHERE lane = v_lane;
END;
$$;

-- 2. Double entry checked once per entry instead of once per posting and once per entry. The rule is
--    unchanged and still impossible to bypass: at the time any deferred check fires, the posting
--    with the highest id of an entry runs the full check over all of the entry's postings; a posting
--    added later (even after SET CONSTRAINTS ALL IMMEDIATE) has a higher id and fires its own check;
--    postings cannot be deleted or updated. The entry's own trigger now only has to catch an entry
--    with no postings at all (any posting would carry the full check).
CREATE OR REPLACE FUNCTION postings_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = NEW.entry_id AND p.id > NEW.id) THEN
    PERFORM ledger_check_entry_balanced(NEW.entry_id);
  END IF;
  RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION journal_entries_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = NEW.id) THEN
    PERFORM ledger_check_entry_balanced(NEW.id);
  END IF;
  RETURN NULL;
END;
$$;
