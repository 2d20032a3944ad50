/**
 * Where outbound webhooks may go (server-side request forgery guard).
 *
 * An admin's subscription URL is fetched by the worker, inside our network. Without a guard it
 * could name 127.0.0.1 (the sandbox's unauthenticated admin API, the worker's metrics), a private
 * service, or the cloud metadata endpoint (169.254.169.254), and the stored error would read the
 * answer back. Invariants kept:
 * - An endpoint's host is resolved and every address it resolves to is checked: global unicast
 *   only, unless the address lies in OUTBOX_ALLOWED_NETWORKS (internal services on private
 *   networks are listed there deliberately). Loopback, private, link-local, unique-local,
 *   carrier-grade NAT, multicast, reserved, unspecified, and IPv6 forms that embed an IPv4 address
 *   (mapped, NAT64, 6to4, Teredo) are refused otherwise. Cloud metadata addresses are refused
 *   even when a listed network contains them.
 * - A name that resolves to any refused address is refused as a whole (no "pick the good one").
 * - The check runs at creation (a bad URL is never stored) and again at every send, where the
 *   request connects to exactly the address that was checked (pinned through the socket's
 *   lookup), so a name that changes its answer between check and connect (DNS rebinding) gains
 *   nothing.
 * - With OUTBOX_ALLOWED_HOSTS set, only those host names; production requires it (server/env.ts).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { env, type Env } from "../env";

/** Cloud metadata endpoints: never a webhook receiver, whatever the configuration says. */
const METADATA_ADDRESSES = ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200"];

export interface EndpointPolicy {
  /** Host names (exact, or "*.domain"); empty: any host name passes this check. */
  allowedHosts: readonly string[];
  /** Networks deliveries may reach although they are not global unicast (CIDR, parsed). */
  allowedNetworks: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** The operating system's resolver (what a plain request would use), every address. */
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Parses OUTBOX_ALLOWED_NETWORKS ("10.20.0.0/16, fd12::/48"); throws naming the bad entry. */
export function parseNetworks(raw: string | undefined): [ipaddr.IPv4 | ipaddr.IPv6, number][] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr);
      } catch {
        throw new Error(`${JSON.stringify(cidr)} is not a network in CIDR form (e.g. 10.20.0.0/16)`);
      }
    });
}

export function endpointPolicyFromEnv(e: Env = env()): EndpointPolicy {
  return {
    allowedHosts: (e.OUTBOX_ALLOWED_HOSTS ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0),
    allowedNetworks: parseNetworks(e.OUTBOX_ALLOWED_NETWORKS),
  };
}

/** Whether `host` is allowed by a list of exact hosts and "*.domain" entries (case-insensitive). */
export function isHostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((a) => {
    const entry = a.trim().toLowerCase();
    if (entry.startsWith("*.")) return h.endsWith(entry.slice(1)) && h.length > entry.length - 1;
    return entry.length > 0 && h === entry;
  });
}

const RANGE_WORDS: Record<string, string> = {
  loopback: "loopback",
  private: "private",
  linkLocal: "link-local",
  uniqueLocal: "unique-local (private)",
  carrierGradeNat: "carrier-grade NAT (shared)",
  unspecified: "unspecified",
  multicast: "multicast",
  broadcast: "broadcast",
  reserved: "reserved",
};

/** Why deliveries may not go to `address`, or null when they may. */
export function addressRefusal(address: string, policy: Pick<EndpointPolicy, "allowedNetworks">): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  let ip = ipaddr.parse(address);
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const normal = ip.toNormalizedString();
  if (METADATA_ADDRESSES.some((m) => ipaddr.parse(m).toNormalizedString() === normal && ipaddr.parse(m).kind() === ip.kind())) {
    return `${address} is a cloud metadata address`;
  }
  const isListed = policy.allowedNetworks.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net as never, bits));
  if (isListed) return null;
  const range = ip.range();
  if (range === "unicast") return null;
  return `${address} is a ${RANGE_WORDS[range] ?? `${range} (IPv6 form of another address)`} address`;
}

export class EndpointRefusedError extends Error {
  constructor(
    message: string,
    /** The name has no address now (not: it has a refused one). */
    readonly isUnresolved = false,
  ) {
    super(message);
    this.name = "EndpointRefusedError";
  }
}

/**
 * The addresses deliveries to `hostname` may connect to (all of them checked), in resolver order.
 * Throws EndpointRefusedError naming the first refused address, or when the name does not resolve.
 */
export async function resolveEndpoint(hostname: string, policy: EndpointPolicy, resolver: Resolver = systemResolver): Promise<{ address: string; family: 4 | 6 }[]> {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (policy.allowedHosts.length > 0 && !isHostAllowed(host, policy.allowedHosts)) {
    throw new EndpointRefusedError(`host ${host} is not in OUTBOX_ALLOWED_HOSTS`);
  }
  let found: { address: string; family: number }[];
  if (isIP(host) !== 0) {
    found = [{ address: host, family: isIP(host) }];
  } else {
    try {
      found = await resolver(host);
    } catch {
      throw new EndpointRefusedError(`host ${host} does not resolve`, true);
    }
    if (found.length === 0) throw new EndpointRefusedError(`host ${host} does not resolve`, true);
  }
  for (const f of found) {
    const why = addressRefusal(f.address, policy);
    if (why) throw new EndpointRefusedError(found.length === 1 && f.address === host ? `${why}; deliveries never go there` : `host ${host} resolves to ${why}; deliveries never go there`);
  }
  return found.map((f) => ({ address: f.address, family: f.family === 6 ? 6 : 4 }));
}
