/**
 * The composition root: the one place that knows every domain and builds the registries that
 * span them, as objects, from explicit lists. Web (the tRPC context), worker, demo, scripts and
 * tests take them from here; no domain registers itself by being imported.
 *
 * - adjustmentKinds: every kind of four-eyes proposal (approvals' own, undoing an account's freeze,
 *   activating a money-moving service key, transfers', pricing's, recon's).
 * - partners: the partner adapters, built from configuration on first use.
 */
import { AdjustmentKinds, BUILT_IN_KINDS } from "../approvals/kinds";
import { TRANSFER_KINDS } from "../transfers/adjustment-kinds";
import { PRICING_KINDS } from "../pricing/approval-kinds";
import { ACCOUNT_KINDS } from "../approvals/account-kinds";
import { SERVICE_KEY_KINDS } from "../approvals/service-key-activation";
import { RECON_KINDS } from "../recon/adjustment-kinds";
import { createPartnerRegistry } from "../partners/registry";

export const adjustmentKinds = new AdjustmentKinds([...BUILT_IN_KINDS, ...ACCOUNT_KINDS, ...SERVICE_KEY_KINDS, ...TRANSFER_KINDS, ...PRICING_KINDS, ...RECON_KINDS]);

export const partners = createPartnerRegistry();
