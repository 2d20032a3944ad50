-- Service keys (issue 14, point 1): a key with a money-moving scope works only after a second
-- person approves it (activated_at), and a key may be limited to the account code prefixes and
-- currencies it may debit.

-- AlterTable
ALTER TABLE "service_keys" ADD COLUMN     "activated_at" TIMESTAMPTZ(3),
ADD COLUMN     "debit_account_prefixes" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "debit_currencies" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- Keys created before this migration keep working as they were: active since their creation,
-- without limits. (A review of existing money-moving keys is a runbook step, docs/runbooks/service-keys.md.)
UPDATE "service_keys" SET "activated_at" = "created_at";
