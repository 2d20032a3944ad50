/**
 * A local OpenID Connect issuer for end-to-end tests and for trying SSO sign-in by hand. Never for
 * production: its built-in login form accepts any login and any password.
 *
 *   npx tsx scripts/oidc-dev-provider.ts [--port 3901] [--host 127.0.0.1] [--redirect-uri URL ...]
 *   npx tsx scripts/oidc-dev-provider.ts 3901 http://localhost:3100/api/auth/callback/oidc
 *
 * Environment fallbacks: OIDC_DEV_PORT, OIDC_DEV_HOST, OIDC_DEV_REDIRECT_URIS (comma-separated).
 * The console side: AUTH_OIDC_ISSUER=http://127.0.0.1:3901 AUTH_OIDC_CLIENT_ID=console-e2e
 * AUTH_OIDC_CLIENT_SECRET=console-e2e-secret.
 *
 * A login containing "@" is used as the email; any other login becomes `<login>@demo.local`.
 */
import { pathToFileURL } from "node:url";
import Provider, { type Configuration } from "oidc-provider";

export const OIDC_DEV_CLIENT_ID = "console-e2e";
export const OIDC_DEV_CLIENT_SECRET = "console-e2e-secret";
const DEFAULT_REDIRECT_URI = "http://localhost:3100/api/auth/callback/oidc";

function argValues(name: string): string[] {
  const out: string[] = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}` && args[i + 1] !== undefined) out.push(args[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

export function emailOfLogin(login: string): string {
  const l = login.trim().toLowerCase();
  return l.includes("@") ? l : `${l}@demo.local`;
}

function nameOfEmail(email: string): string {
  return email
    .split("@")[0]!
    .split(/[._-]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(" ");
}

export function createDevProvider(issuer: string, redirectUris: string[]): Provider {
  const configuration: Configuration = {
    clients: [
      {
        client_id: OIDC_DEV_CLIENT_ID,
        client_secret: OIDC_DEV_CLIENT_SECRET,
        redirect_uris: redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    // PKCE is allowed (the console always sends it) but not demanded of this confidential client.
    pkce: { required: () => false },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // next-auth reads the profile from the ID token, so put the scope's claims there too.
    conformIdTokenClaims: false,
    cookies: { keys: ["oidc-dev-provider-cookie-key-not-secret"] },
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    async findAccount(_ctx, sub) {
      const email = emailOfLogin(sub);
      return {
        accountId: sub,
        async claims() {
          return { sub, email, email_verified: true, name: nameOfEmail(email) };
        },
      };
    },
  };
  return new Provider(issuer, configuration);
}

/** Bare arguments: a number is the port, a URL is a redirect URI. */
function positionalArgs(): { port?: string; redirectUris: string[] } {
  const args = process.argv.slice(2);
  const bare = args.filter((a, i) => !a.startsWith("--") && !(args[i - 1]?.startsWith("--") && !args[i - 1]!.includes("=")));
  return { port: bare.find((a) => /^\d+$/.test(a)), redirectUris: bare.filter((a) => /^https?:\/\//.test(a)) };
}

async function main(): Promise<void> {
  const pos = positionalArgs();
  const port = Number(argValues("port")[0] ?? pos.port ?? process.env.OIDC_DEV_PORT ?? 3901);
  const host = argValues("host")[0] ?? process.env.OIDC_DEV_HOST ?? "127.0.0.1";
  const fromEnv = (process.env.OIDC_DEV_REDIRECT_URIS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const fromArgs = [...argValues("redirect-uri"), ...pos.redirectUris];
  const redirectUris = fromArgs.length > 0 ? fromArgs : fromEnv.length > 0 ? fromEnv : [DEFAULT_REDIRECT_URI];
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be 1..65535, got ${port}`);
  const issuer = `http://${host}:${port}`;
  const provider = createDevProvider(issuer, redirectUris);
  const server = provider.listen(port, host, () => {
    console.log(`oidc provider redirect URIs: ${redirectUris.join(", ")}`);
    console.log(`oidc provider ready on ${issuer}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
