/**
 * Demo sign-ins listed on the sign-in page in demo mode (emails only; passwords are printed by
 * `npm start`). The page renders them only when DEMO_MODE is on.
 */
import { DEMO_SIGN_INS } from "../../server/demo/demo-users";

export const DEMO_ACCOUNT_EMAILS: readonly string[] = DEMO_SIGN_INS.map((u) => u.email);
