// oidc-provider ships no type declarations; this covers the little scripts/oidc-dev-provider.ts uses.
declare module "oidc-provider" {
  import type { Server } from "node:http";

  export interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  export interface Configuration {
    clients?: Record<string, unknown>[];
    pkce?: { required?: (ctx: unknown, client: unknown) => boolean };
    features?: Record<string, { enabled: boolean }>;
    claims?: Record<string, string[]>;
    conformIdTokenClaims?: boolean;
    cookies?: { keys?: string[] };
    ttl?: Record<string, number>;
    findAccount?: (ctx: unknown, sub: string, token?: unknown) => Promise<Account | undefined>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    listen(port: number, host: string, callback?: () => void): Server;
  }
}
