/**
 * Server components call the API through the same tRPC router as the browser, so every read on a
 * page passes the same permission check and input validation as a request to /api/trpc.
 */
import { randomUUID } from "node:crypto";
import { createCaller } from "../../server/api/root";
import { db } from "../../server/db/client";
import type { Actor } from "../../server/core/actor";

export function pageCaller(actor: Actor) {
  return createCaller({ db: db(), actor, requestId: randomUUID(), ip: null });
}

/** The message of a failed call, for showing on the page (the API's messages name the problem). */
export function callErrorMessage(e: unknown): string {
  return e instanceof Error && e.message ? e.message : "the request failed";
}
