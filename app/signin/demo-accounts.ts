/**
 * Demo sign-ins listed on the sign-in page in demo mode (emails only; passwords are printed by
 * `npm start`). Empty renders nothing.
 */
export const DEMO_ACCOUNT_EMAILS: readonly string[] = [];
