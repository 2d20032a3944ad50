// Prisma CLI configuration. The CLI is used here only for `prisma generate`; migrations are
// plain SQL files applied by server/db/migrate.ts (see docs/decisions.md).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
