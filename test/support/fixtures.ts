/**
 * Shared fixtures live beside the repository, in ../shared/fixtures (the same layout in every
 * worktree and in CI's fresh clone), never at an absolute path.
 */
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** The ECB's real reference-rate history (units per 1 EUR, "N/A" where none). */
export const ECB_HISTORY_CSV = path.resolve(REPO_ROOT, "../shared/fixtures/fx/eurofxref-hist.csv");
