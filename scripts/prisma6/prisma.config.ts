// Config for the Prisma 6.19 CLI, used only to compute migration SQL offline by diffing two
// schema files (`npm run db:diff`). Prisma 7's `migrate` needs a native schema engine that cannot
// be downloaded here; 6.19 can diff through its JS engine with a driver adapter.
import { defineConfig } from "prisma6/config";
import { PrismaPg } from "@prisma/adapter-pg";

export default defineConfig({
  engine: "js",
  experimental: { adapter: true },
  schema: "../../prisma/schema.prisma",
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "postgresql://localhost/unused" }),
});
