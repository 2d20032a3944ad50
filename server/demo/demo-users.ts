/**
 * The demo world's sign-ins. Only ever created by the demo seed (embedded database or SEED_DEMO);
 * credentials sign-in itself is off outside demo mode unless AUTH_CREDENTIALS_ENABLED=true.
 */
import type { RoleName } from "../core/permissions";

export interface DemoUser {
  email: string;
  name: string;
  roles: RoleName[];
  /** null: the user signs in through OpenID Connect only. */
  password: string | null;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { email: "viewer@demo.local", name: "Vera Viewer", roles: ["viewer"], password: "viewer-demo-pass" },
  { email: "operator@demo.local", name: "Omar Operator", roles: ["operator"], password: "operator-demo-pass" },
  { email: "approver@demo.local", name: "Ada Approver", roles: ["approver"], password: "approver-demo-pass" },
  { email: "approver2@demo.local", name: "Abe Approver", roles: ["approver"], password: "approver2-demo-pass" },
  { email: "admin@demo.local", name: "Alex Admin", roles: ["admin"], password: "admin-demo-pass" },
  { email: "oidc.operator@demo.local", name: "Olga SSO Operator", roles: ["operator"], password: null },
];

export const DEMO_SIGN_INS = DEMO_USERS.filter((u): u is DemoUser & { password: string } => u.password !== null);
