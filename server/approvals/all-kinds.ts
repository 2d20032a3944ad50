/**
 * Every adjustment kind the application knows. The approvals service reads kinds through this
 * module, so a kind registered by another domain is loaded before any proposal is read. To add a
 * kind: call registerAdjustmentKind in your domain's module and import that module here.
 */
// Transfers: force-settle and force-fail after submission.
import "../transfers/adjustment-kinds";
// Pricing: new fee schedule versions and reference rates entered by hand.
import "../pricing/approval-kinds";

export { getAdjustmentKind, listAdjustmentKinds, parsePayload, type AdjustmentKind } from "./kinds";
