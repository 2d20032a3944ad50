-- Sign-in and step-up throttling (issue 14, point 8): rate-limiter-flexible's Postgres store.
-- The library expects exactly this layout (key, points, expire in epoch milliseconds); rows whose
-- expiry passed an hour ago are deleted by the library every five minutes.

-- CreateTable
CREATE TABLE "auth_throttle" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "auth_throttle_pkey" PRIMARY KEY ("key")
);
