/**
 * The partner registry: which partners exist and the adapter for each, built once per process
 * from configuration.
 *
 * Invariants kept:
 * - An unknown partner id is NOT_FOUND; nothing guesses or falls back to another partner.
 * - The sandbox partner's fixed demo webhook secret is used only outside a production deployment
 *   (server/env.ts refuses to start production with it configured). In production without SANDBOX_WEBHOOK_SECRET / PARTNER_SANDBOX_WEBHOOK_SECRETS the
 *   sandbox partner has no secret, so every webhook claiming to be from it is refused.
 */
import { DEMO_SANDBOX_WEBHOOK_SECRET, env, isProductionDeployment, type Env } from "../env";
import { AppError } from "../errors/app-error";
import { createSandboxAdapter, type SandboxAdapterConfig } from "./sandbox-adapter";
import type { PartnerAdapter } from "./types";

export const PARTNER_IDS = ["sandbox"] as const;
export type PartnerId = (typeof PARTNER_IDS)[number];

export { DEMO_SANDBOX_WEBHOOK_SECRET };

export function isKnownPartner(id: string): id is PartnerId {
  return (PARTNER_IDS as readonly string[]).includes(id);
}

function isDemoSecretAllowed(e: Env): boolean {
  return !isProductionDeployment(e);
}

/** The secret the sandbox signs with (sandbox side); null when none may be used. */
export function sandboxSigningSecret(e: Env = env()): string | null {
  return e.SANDBOX_WEBHOOK_SECRET ?? (isDemoSecretAllowed(e) ? DEMO_SANDBOX_WEBHOOK_SECRET : null);
}

/** The secrets we accept on sandbox webhooks (our side): the rotation list, else the signing secret. */
export function sandboxWebhookSecrets(e: Env = env()): string[] {
  if (e.PARTNER_SANDBOX_WEBHOOK_SECRETS) return e.PARTNER_SANDBOX_WEBHOOK_SECRETS.split(",").map((s) => s.trim());
  const secret = sandboxSigningSecret(e);
  return secret ? [secret] : [];
}

export function sandboxBaseUrl(e: Env = env()): string {
  return (e.SANDBOX_URL ?? `http://127.0.0.1:${e.SANDBOX_PORT}`).replace(/\/+$/, "");
}

export function sandboxAdapterConfig(e: Env = env()): SandboxAdapterConfig {
  return {
    baseUrl: sandboxBaseUrl(e),
    webhookSecrets: sandboxWebhookSecrets(e),
    toleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS,
    timeoutMs: { instant: e.SANDBOX_TIMEOUT_MS_INSTANT, batch: e.SANDBOX_TIMEOUT_MS_BATCH },
  };
}

/** The adapters of the known partners, built from configuration on first use. */
export interface PartnerRegistry {
  /** The adapter for a partner id. Errors: NOT_FOUND for an unknown id. */
  adapterFor(id: string): PartnerAdapter;
  /** Forgets the built adapters, so the next use reads configuration again (tests change it). */
  reset(): void;
}

/** A partner registry; the application's one lives in server/composition.ts. */
export function createPartnerRegistry(config: () => SandboxAdapterConfig = () => sandboxAdapterConfig()): PartnerRegistry {
  const adapters = new Map<string, PartnerAdapter>();
  return {
    adapterFor(id: string): PartnerAdapter {
      if (!isKnownPartner(id)) throw new AppError("NOT_FOUND", `partner ${JSON.stringify(id)} is not known; known partners: ${PARTNER_IDS.join(", ")}`, { details: { partner: id } });
      let adapter = adapters.get(id);
      if (!adapter) {
        adapter = createSandboxAdapter(config());
        adapters.set(id, adapter);
      }
      return adapter;
    },
    reset(): void {
      adapters.clear();
    },
  };
}
