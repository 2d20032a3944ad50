/**
 * Saved views of console lists (issue 11, saved filters): list, save, rename, share, delete. Thin:
 * each procedure validates with zod, requires recon:read (the breaks queue is the only list with
 * saved views; a list that joins brings its own read permission) and calls one function in
 * server/views/saved-views.ts, which owns every rule (names, the cap, who sees and changes what).
 */
import { z } from "zod";
import { procedure, createRouter } from "../trpc";
import { uuid } from "../inputs";
import { deleteSavedView, listSavedViews, renameSavedView, saveView, SAVED_VIEW_PAGE_KEYS, setSavedViewShared } from "../../views/saved-views";

const page = z.enum(SAVED_VIEW_PAGE_KEYS);
// The domain gives the precise rules and messages (a name of 1 to 60 characters without control
// characters, a query of at most 2000); these bounds only keep an absurd input from travelling further.
const name = z.string().max(500);
const query = z.string().max(10_000);

export const savedViewsRouter = createRouter({
  list: procedure("recon:read")
    .input(z.strictObject({ page }))
    .query(({ ctx, input }) => listSavedViews(ctx.db, ctx.actor, input)),
  save: procedure("recon:read")
    .input(z.strictObject({ page, name, query, isShared: z.boolean().optional() }))
    .mutation(({ ctx, input }) => saveView(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),
  rename: procedure("recon:read")
    .input(z.strictObject({ viewId: uuid, name }))
    .mutation(({ ctx, input }) => renameSavedView(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),
  share: procedure("recon:read")
    .input(z.strictObject({ viewId: uuid, isShared: z.boolean() }))
    .mutation(({ ctx, input }) => setSavedViewShared(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),
  delete: procedure("recon:read")
    .input(z.strictObject({ viewId: uuid }))
    .mutation(({ ctx, input }) => deleteSavedView(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),
});
