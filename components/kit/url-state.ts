/**
 * The console kit's URL state. The implementation lives in server/core/url-state.ts (pure, no
 * React): server code reads and writes the same state when it stores a saved view of a list
 * (server/views/saved-views.ts), so there is one definition of what a list's URL means.
 */
export * from "../../server/core/url-state";
