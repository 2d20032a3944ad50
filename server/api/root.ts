/**
 * The application router: one sub-router per domain. Routers are thin: validate with zod, check
 * the permission (procedure(permission)), call one service function, map the result.
 */
import { createRouter, createCallerFactory } from "./trpc";
import { sessionRouter } from "./routers/session";
import { auditRouter } from "./routers/audit";
import { adminRouter } from "./routers/admin";
import { ledgerRouter } from "./routers/ledger";
import { approvalsRouter } from "./routers/approvals";
import { outboxRouter } from "./routers/outbox";
import { transfersRouter } from "./routers/transfers";
import { pricingRouter } from "./routers/pricing";
import { reconRouter } from "./routers/recon";
import { sloRouter } from "./routers/slo";
import { savedViewsRouter } from "./routers/saved-views";

export const appRouter = createRouter({
  session: sessionRouter,
  audit: auditRouter,
  admin: adminRouter,
  ledger: ledgerRouter,
  approvals: approvalsRouter,
  outbox: outboxRouter,
  transfers: transfersRouter,
  pricing: pricingRouter,
  recon: reconRouter,
  slo: sloRouter,
  savedViews: savedViewsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
