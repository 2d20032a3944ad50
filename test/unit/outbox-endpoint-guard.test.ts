/**
 * Where outbound webhooks may go (issue 14, point 7): the address table, and resolution where
 * every address of a name must pass.
 */
import { describe, expect, it } from "vitest";
import { addressRefusal, parseNetworks, resolveEndpoint, type EndpointPolicy } from "../../server/outbox/endpoint-guard";

const none: EndpointPolicy = { allowedHosts: [], allowedNetworks: [] };
const internal: EndpointPolicy = { allowedHosts: [], allowedNetworks: parseNetworks("10.20.0.0/16, 169.254.0.0/16") };

describe("addressRefusal", () => {
  it.each([
    ["127.0.0.1", /loopback/],
    ["127.255.0.9", /loopback/],
    ["::1", /loopback/],
    ["::ffff:127.0.0.1", /loopback/],
    ["0.0.0.0", /unspecified/],
    ["::", /unspecified/],
    ["10.0.0.1", /private/],
    ["172.16.5.4", /private/],
    ["192.168.1.1", /private/],
    ["::ffff:10.0.0.1", /private/],
    ["fd12:3456::1", /unique-local/],
    ["169.254.169.254", /cloud metadata/],
    ["169.254.170.2", /cloud metadata/],
    ["fd00:ec2::254", /cloud metadata/],
    ["100.100.100.200", /cloud metadata/],
    ["169.254.1.1", /link-local/],
    ["fe80::1", /link-local/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["224.0.0.1", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["192.0.2.10", /reserved/],
    ["64:ff9b::a00:1", /IPv6 form of another address/],
    ["2002:a00:1::1", /IPv6 form of another address/],
    ["not-an-ip", /not an IP address/],
  ])("%s is refused (%s)", (address, why) => {
    expect(addressRefusal(address, none)).toMatch(why);
  });

  it.each(["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("%s (public unicast) is allowed", (address) => {
    expect(addressRefusal(address, none)).toBeNull();
  });

  it("a listed network is allowed, but never the metadata address inside it", () => {
    expect(addressRefusal("10.20.3.4", internal)).toBeNull();
    expect(addressRefusal("10.21.3.4", internal)).toMatch(/private/);
    expect(addressRefusal("169.254.1.1", internal)).toBeNull();
    expect(addressRefusal("169.254.169.254", internal)).toMatch(/cloud metadata/);
  });
});

describe("resolveEndpoint", () => {
  const resolver = (table: Record<string, string[]>) => async (host: string) => {
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

  it("refuses a name resolving to a refused address, and a name with any refused address among good ones", async () => {
    await expect(resolveEndpoint("hooks.example", none, resolver({ "hooks.example": ["127.0.0.1"] }))).rejects.toThrow(/hooks.example resolves to 127.0.0.1 is a loopback address/);
    await expect(resolveEndpoint("mixed.example", none, resolver({ "mixed.example": ["93.184.215.14", "10.0.0.7"] }))).rejects.toThrow(/10.0.0.7 is a private address/);
    await expect(resolveEndpoint("gone.example", none, resolver({}))).rejects.toThrow(/does not resolve/);
  });

  it("literal addresses are checked without a lookup; names pass when every address does", async () => {
    await expect(resolveEndpoint("169.254.169.254", none, resolver({}))).rejects.toThrow(/cloud metadata/);
    await expect(resolveEndpoint("[::1]", none, resolver({}))).rejects.toThrow(/loopback/);
    expect(await resolveEndpoint("hooks.example", none, resolver({ "hooks.example": ["93.184.215.14", "2606:4700::1"] }))).toEqual([
      { address: "93.184.215.14", family: 4 },
      { address: "2606:4700::1", family: 6 },
    ]);
  });

  it("the host allow-list is checked first", async () => {
    await expect(resolveEndpoint("evil.example", { ...none, allowedHosts: ["*.svc.internal"] }, resolver({ "evil.example": ["93.184.215.14"] }))).rejects.toThrow(/not in OUTBOX_ALLOWED_HOSTS/);
  });
});
