-- Step-up (TOTP) lock-out per person moves from the hand-written counter on totp_factors to
-- rate-limiter-flexible's Postgres store, the one sign-in uses (issue 14, point 8): key
-- auth:person:totp:<user id>, points = wrong codes in a row, no expiry (an admin releases a lock).
-- Counts and locks carry over: a locked person (failed_attempts at the limit) stays locked.
INSERT INTO "auth_throttle" ("key", "points", "expire")
SELECT 'auth:person:totp:' || "user_id"::text, "failed_attempts", NULL FROM "totp_factors" WHERE "failed_attempts" > 0
ON CONFLICT ("key") DO UPDATE SET "points" = EXCLUDED."points", "expire" = NULL;

-- DropIndex
DROP INDEX "totp_factors_locked_at_idx";

-- AlterTable
ALTER TABLE "totp_factors" DROP COLUMN "failed_attempts",
DROP COLUMN "locked_at";
