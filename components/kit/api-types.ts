/**
 * Client types come from the router, never re-declared: `RouterOutputs["audit"]["list"]` is what
 * audit.list returns (bigint amounts and Dates intact, as superjson carries them), and
 * `RouterInputs["transfers"]["list"]` what it accepts. A change to a procedure's output is then a
 * type error in every screen that shows it.
 */
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../../server/api/root";

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;
