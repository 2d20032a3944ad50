-- Saved views (issue 11, saved filters on the breaks queue): a person's named view of a console
-- list, stored as the list's canonical query string (server/views/saved-views.ts). The checks
-- below repeat the domain's rules on each row so that no other writer can store a name or query the
-- console would refuse; uniqueness ignoring case is the domain's (checked under a per-person lock),
-- the unique index here is exact (an expression index is not expressible in schema.prisma).

-- CreateTable
CREATE TABLE "saved_views" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "owner_id" UUID NOT NULL,
    "page" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "query" TEXT NOT NULL,
    "is_shared" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "saved_views_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "saved_views_page_is_shared_idx" ON "saved_views"("page", "is_shared");

-- CreateIndex
CREATE UNIQUE INDEX "saved_views_owner_id_page_name_key" ON "saved_views"("owner_id", "page", "name");

-- AddForeignKey
ALTER TABLE "saved_views" ADD CONSTRAINT "saved_views_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- A name is 1 to 60 characters, trimmed, with no control character (C0, DEL, C1) and no line or
-- paragraph separator, spelled out rather than [[:cntrl:]], whose meaning follows the locale; the query is the list's
-- canonical search string (no "?", no cursor: the domain drops it), bounded; the page is a list key.
ALTER TABLE "saved_views" ADD CONSTRAINT "saved_views_name_check"
  CHECK (char_length(name) BETWEEN 1 AND 60 AND name = btrim(name) AND name !~ '[\x01-\x1F\x7F-\x9F\u2028\u2029]');
ALTER TABLE "saved_views" ADD CONSTRAINT "saved_views_query_check"
  CHECK (char_length(query) <= 2000 AND query !~ '^\?' AND query !~ '(^|&)cursor=');
ALTER TABLE "saved_views" ADD CONSTRAINT "saved_views_page_check" CHECK (page ~ '^[a-z][a-z_]{0,39}$');
