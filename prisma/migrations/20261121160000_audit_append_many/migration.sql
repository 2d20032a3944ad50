-- Audit records of a group commit appended as one run on one lane. audit_append (migration
-- 20261121100000_ledger_perf) picks a free lane, inserts and advances the lane head once per record;
-- a group of n commands paid that n times (and could hold n lanes). This takes one lane for the whole
-- run, chains the records on it in the order given (each hash over the previous one's, exactly as
-- audit_append and hashRecord() compute it), inserts them in one statement and advances the head once.
-- Arguments are audit_append's, one array element per record; the result is one row per record, in
-- the same order.
CREATE OR REPLACE FUNCTION audit_append_many(
  p_prefix text[], p_suffix text[], p_actor_type text[], p_actor_id text[], p_actor_label text[], p_action text[],
  p_target_type text[], p_target_id text[], p_reason text[], p_before jsonb[], p_after jsonb[], p_request_id text[],
  p_created_at timestamptz[]) RETURNS TABLE (id bigint, hash text) LANGUAGE plpgsql AS $$
DECLARE
  v_lane integer;
  v_seq bigint;
  v_prev text;
  v_n integer := coalesce(array_length(p_prefix, 1), 0);
  v_seqs bigint[] := '{}';
  v_prevs text[] := '{}';
  v_hashes text[] := '{}';
BEGIN
  IF v_n = 0 THEN
    RETURN;
  END IF;
  IF array_length(p_suffix, 1) IS DISTINCT FROM v_n OR array_length(p_action, 1) IS DISTINCT FROM v_n
     OR array_length(p_created_at, 1) IS DISTINCT FROM v_n THEN
    RAISE EXCEPTION 'audit_append_many: argument arrays differ in length';
  END IF;
  SELECT l.lane, l.last_seq, l.last_hash INTO v_lane, v_seq, v_prev
    FROM audit_lanes l ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    SELECT l.lane, l.last_seq, l.last_hash INTO v_lane, v_seq, v_prev
      FROM audit_lanes l ORDER BY random() LIMIT 1 FOR UPDATE;
  END IF;
  IF v_lane IS NULL THEN
    RAISE EXCEPTION 'audit_lanes is empty: the foundation migration did not run';
  END IF;
  FOR i IN 1 .. v_n LOOP
    v_seq := v_seq + 1;
    v_prevs := v_prevs || v_prev;
    v_prev := encode(sha256(convert_to(v_prev || E'\n' || p_prefix[i] || ',"lane":' || v_lane || ',"laneSeq":"' || v_seq || '",' || p_suffix[i], 'UTF8')), 'hex');
    v_seqs := v_seqs || v_seq;
    v_hashes := v_hashes || v_prev;
  END LOOP;
  RETURN QUERY
    INSERT INTO audit_log AS a (lane, lane_seq, actor_type, actor_id, actor_label, action, target_type, target_id,
                                reason, before, after, request_id, created_at, prev_hash, hash)
    SELECT v_lane, u.seq, u.actor_type, u.actor_id, u.actor_label, u.action, u.target_type, u.target_id,
           u.reason, u.before, u.after, u.request_id, u.created_at, u.prev_hash, u.hash
      FROM unnest(v_seqs, p_actor_type, p_actor_id, p_actor_label, p_action, p_target_type, p_target_id,
                  p_reason, p_before, p_after, p_request_id, p_created_at, v_prevs, v_hashes)
        AS u(seq, actor_type, actor_id, actor_label, action, target_type, target_id, reason, before, after, request_id, created_at, prev_hash, hash)
     ORDER BY u.seq
    RETURNING a.id, a.hash;
  UPDATE audit_lanes SET last_seq = v_seq, last_hash = v_prev WHERE lane = v_lane;
END;
$$;
