-- Transfers carry their price (issue 12, booking): the fee charged on top of the amount, the fee
-- schedule version and rule that priced it, and for a cross-currency transfer the quote it
-- executed on with the converted amount and the spread earned. Generated in Prisma's form, then
-- the hand-written rules at the end.

-- AlterTable
ALTER TABLE "transfers" ADD COLUMN     "converted_currency" CHAR(3),
ADD COLUMN     "converted_minor" BIGINT,
ADD COLUMN     "fee_minor" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "fee_rule_id" TEXT,
ADD COLUMN     "fee_schedule_version_id" UUID,
ADD COLUMN     "quote_id" UUID,
ADD COLUMN     "spread_minor" BIGINT;

-- CreateIndex
CREATE UNIQUE INDEX "transfers_quote_id_key" ON "transfers"("quote_id");

-- AddForeignKey
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_fee_schedule_version_id_fkey" FOREIGN KEY ("fee_schedule_version_id") REFERENCES "fee_schedule_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_quote_id_fkey" FOREIGN KEY ("quote_id") REFERENCES "fx_quotes"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- ---------------------------------------------------------------------------------------------
-- Hand-written rules (Prisma cannot express them).

-- The shape of a price: a fee is never negative and needs the version that set it; the converted
-- figures come together, only with a quote, into another currency, for a positive amount. Added
-- NOT VALID then validated, so existing rows (all unpriced: the defaults pass) are checked without
-- blocking writes.
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_pricing_shape" CHECK (
  fee_minor >= 0
  AND (fee_schedule_version_id IS NOT NULL OR fee_minor = 0)
  AND (fee_rule_id IS NULL OR fee_schedule_version_id IS NOT NULL)
  AND (converted_currency IS NULL) = (converted_minor IS NULL)
  AND (converted_minor IS NULL) = (spread_minor IS NULL)
  AND (converted_currency IS NULL OR (quote_id IS NOT NULL AND converted_currency ~ '^[A-Z]{3}$' AND converted_currency <> currency
                                      AND converted_minor > 0 AND spread_minor >= 0))) NOT VALID;
ALTER TABLE "transfers" VALIDATE CONSTRAINT "transfers_pricing_shape";

-- A transfer's price never changes once written. The trigger fires only for updates that name a
-- priced column, so the state transitions (which never do) pay nothing for it.
CREATE FUNCTION transfers_pricing_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.fee_minor <> OLD.fee_minor OR NEW.fee_schedule_version_id IS DISTINCT FROM OLD.fee_schedule_version_id
     OR NEW.fee_rule_id IS DISTINCT FROM OLD.fee_rule_id OR NEW.quote_id IS DISTINCT FROM OLD.quote_id
     OR NEW.converted_currency IS DISTINCT FROM OLD.converted_currency OR NEW.converted_minor IS DISTINCT FROM OLD.converted_minor
     OR NEW.spread_minor IS DISTINCT FROM OLD.spread_minor THEN
    RAISE EXCEPTION 'transfer %: its price cannot change', OLD.id USING ERRCODE = 'TR002';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER transfers_pricing_guard
  BEFORE UPDATE OF fee_minor, fee_schedule_version_id, fee_rule_id, quote_id, converted_currency, converted_minor, spread_minor ON "transfers"
  FOR EACH ROW EXECUTE FUNCTION transfers_pricing_guard();

-- A transfer executes on a quote only if, by commit, that quote is marked used by this transfer
-- and the transfer states exactly the quote's price: amount, currencies, rail, fee, version and,
-- across currencies, the converted amount and spread. Deferred: the quote is marked after the
-- transfer row exists, in the same transaction.
CREATE FUNCTION transfers_quote_check() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  q record;
BEGIN
  SELECT amount_minor, from_currency, to_currency, rail, fee_minor, schedule_version_id, converted_minor, spread_minor, used_by_transfer_id
    INTO q FROM fx_quotes WHERE id = NEW.quote_id;
  IF q.used_by_transfer_id IS DISTINCT FROM NEW.id THEN
    RAISE EXCEPTION 'transfer % executes on quote %, which is not marked used by it', NEW.id, NEW.quote_id USING ERRCODE = 'TR004';
  END IF;
  IF q.amount_minor <> NEW.amount_minor OR q.from_currency <> NEW.currency OR q.rail <> NEW.rail OR q.fee_minor <> NEW.fee_minor
     OR q.schedule_version_id IS DISTINCT FROM NEW.fee_schedule_version_id
     OR (q.to_currency = NEW.currency AND NEW.converted_currency IS NOT NULL)
     OR (q.to_currency <> NEW.currency AND (NEW.converted_currency IS DISTINCT FROM q.to_currency
          OR NEW.converted_minor IS DISTINCT FROM q.converted_minor OR NEW.spread_minor IS DISTINCT FROM q.spread_minor)) THEN
    RAISE EXCEPTION 'transfer % does not state the price of quote %', NEW.id, NEW.quote_id USING ERRCODE = 'TR004';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER transfers_quote_check AFTER INSERT ON "transfers" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.quote_id IS NOT NULL) EXECUTE FUNCTION transfers_quote_check();
