/**
 * The client address comes from a configured number of trusted proxies, not the first
 * X-Forwarded-For hop (issue 14, point 14): a client that sends its own header cannot choose the
 * address its refusals and throttling are counted under.
 */
import { describe, expect, it } from "vitest";
import { clientAddressFrom, clientIpOf } from "../../server/auth/security-events";

describe("clientAddressFrom", () => {
  it.each([
    // [X-Forwarded-For as received, trusted proxies, client address]
    ["203.0.113.7", 1, "203.0.113.7"],
    ["6.6.6.6, 203.0.113.7", 1, "203.0.113.7"], // the client forged 6.6.6.6; our proxy appended its peer
    ["6.6.6.6,203.0.113.7, 10.0.0.2", 2, "203.0.113.7"], // CDN then load balancer
    ["203.0.113.7", 2, "203.0.113.7"], // skipped the CDN: the load balancer's entry is all there is
    ["2001:db8::1", 1, "2001:db8::1"],
    ["6.6.6.6, 203.0.113.7", 0, null], // no proxy: nothing in the header can be believed
    ["203.0.113.7", 0, null],
    [null, 1, null],
    ["", 1, null],
    [" , ", 1, null],
    ["6.6.6.6, not-an-address", 1, null],
    ["6.6.6.6, 203.0.113.7:443", 1, null],
  ] as const)("%j with %i proxies → %j", (header, proxies, expected) => {
    expect(clientAddressFrom(header, proxies)).toBe(expected);
  });
});

describe("clientIpOf", () => {
  it("reads fetch Headers and Node header objects alike, ignoring X-Real-IP", () => {
    expect(clientIpOf(new Headers({ "x-forwarded-for": "6.6.6.6, 198.51.100.4" }), 1)).toBe("198.51.100.4");
    expect(clientIpOf({ "x-forwarded-for": "6.6.6.6, 198.51.100.4" }, 1)).toBe("198.51.100.4");
    expect(clientIpOf({ "x-forwarded-for": ["6.6.6.6", "198.51.100.4"] }, 1)).toBe("198.51.100.4");
    expect(clientIpOf(new Headers({ "x-real-ip": "6.6.6.6" }), 1)).toBeNull();
    expect(clientIpOf(undefined, 1)).toBeNull();
  });
});
