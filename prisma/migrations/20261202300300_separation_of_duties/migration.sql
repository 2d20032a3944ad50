-- Separation of duties (issue 14, point 2): a proposal made through a service key counts as made
-- by the person who created the key, and the database agrees with the service on who that is.

-- AlterTable
ALTER TABLE "adjustment_proposals" ADD COLUMN     "accountable_user_id" TEXT;

-- Proposals made before this migration: a person's proposal counts as that person's; a key's as
-- the key's creator's, when the key still exists.
ALTER TABLE "adjustment_proposals" DISABLE TRIGGER "adjustment_proposals_guard";
UPDATE "adjustment_proposals" p SET "accountable_user_id" = CASE
    WHEN p."proposer_type" = 'user' THEN p."proposer_id"
    ELSE (SELECT k."created_by_id"::text FROM "service_keys" k WHERE k."id"::text = p."proposer_id")
  END;
ALTER TABLE "adjustment_proposals" ENABLE TRIGGER "adjustment_proposals_guard";

-- On insert: a person's proposal counts as that person; a service key's as the key's creator (read
-- from service_keys here, not taken from the caller), and a key with no recorded creator cannot
-- propose, because its proposal would count as nobody's.
CREATE FUNCTION adjustment_proposals_accountable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  creator text;
  is_key boolean;
BEGIN
  IF NEW.proposer_type = 'user' THEN
    IF NEW.accountable_user_id IS DISTINCT FROM NEW.proposer_id THEN
      RAISE EXCEPTION 'adjustment proposal %: a person''s proposal counts as that person', NEW.id USING ERRCODE = 'AP004';
    END IF;
    RETURN NEW;
  END IF;
  SELECT true, k.created_by_id::text INTO is_key, creator FROM service_keys k WHERE k.id::text = NEW.proposer_id;
  IF is_key AND creator IS DISTINCT FROM NEW.accountable_user_id THEN
    RAISE EXCEPTION 'adjustment proposal %: a service key''s proposal counts as the person who created the key (%)', NEW.id, coalesce(creator, 'none recorded') USING ERRCODE = 'AP004';
  END IF;
  IF NEW.accountable_user_id IS NULL THEN
    RAISE EXCEPTION 'adjustment proposal %: the proposing service key has no recorded creator, so its proposal would count as nobody''s', NEW.id USING ERRCODE = 'AP004';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "adjustment_proposals_accountable" BEFORE INSERT ON "adjustment_proposals" FOR EACH ROW EXECUTE FUNCTION adjustment_proposals_accountable();

-- What was proposed never changes: now including who it counts as.
CREATE OR REPLACE FUNCTION adjustment_proposals_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'open' THEN
    RAISE EXCEPTION 'adjustment proposal % is %: it can no longer change', OLD.id, OLD.status USING ERRCODE = 'AP002';
  END IF;
  IF NEW.id <> OLD.id OR NEW.kind <> OLD.kind OR NEW.payload <> OLD.payload OR NEW.summary <> OLD.summary
     OR NEW.reason <> OLD.reason OR NEW.evidence_url IS DISTINCT FROM OLD.evidence_url OR NEW.amounts <> OLD.amounts
     OR NEW.account_ids IS DISTINCT FROM OLD.account_ids OR NEW.links <> OLD.links OR NEW.required_approvals <> OLD.required_approvals
     OR NEW.preview <> OLD.preview OR NEW.proposer_type <> OLD.proposer_type OR NEW.proposer_id <> OLD.proposer_id
     OR NEW.proposer_label <> OLD.proposer_label OR NEW.accountable_user_id IS DISTINCT FROM OLD.accountable_user_id
     OR NEW.idempotency_key <> OLD.idempotency_key
     OR NEW.request_hash <> OLD.request_hash OR NEW.created_at <> OLD.created_at OR NEW.expires_at <> OLD.expires_at THEN
    RAISE EXCEPTION 'adjustment proposal %: what was proposed never changes', OLD.id USING ERRCODE = 'AP003';
  END IF;
  IF NEW.status = 'applied' AND NEW.result IS NULL THEN
    RAISE EXCEPTION 'adjustment proposal %: applied without a result', OLD.id USING ERRCODE = 'AP003';
  END IF;
  RETURN NEW;
END;
$$;

-- Four eyes, enforced again by the database: nobody decides on a proposal that counts as theirs,
-- whether they proposed it themselves or through a key they created.
CREATE OR REPLACE FUNCTION adjustment_decisions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  SELECT status, proposer_id, accountable_user_id INTO p FROM adjustment_proposals WHERE id = NEW.proposal_id;
  IF p.proposer_id = NEW.actor_id OR p.accountable_user_id = NEW.actor_id THEN
    RAISE EXCEPTION 'adjustment proposal %: % proposed it (or created the key that did) and cannot decide on it', NEW.proposal_id, NEW.actor_label USING ERRCODE = 'AP001';
  END IF;
  IF p.status <> 'open' THEN
    RAISE EXCEPTION 'adjustment proposal % is %: it takes no more decisions', NEW.proposal_id, p.status USING ERRCODE = 'AP002';
  END IF;
  RETURN NEW;
END;
$$;
