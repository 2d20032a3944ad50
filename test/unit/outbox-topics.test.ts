// Topic patterns of outbox subscriptions: what matches what, and which patterns are refused.
import { describe, expect, it } from "vitest";
import { checkTopicPatterns, matchesAnyTopic, topicMatches, topicPatternProblem } from "../../server/outbox/topics";
import { planFanOut } from "../../server/outbox/fanout";
import { AppError } from "../../server/errors/app-error";

describe("topicMatches", () => {
  it.each([
    ["transfer.*", "transfer.settled", true],
    ["transfer.*", "transfer.reserved", true],
    ["transfer.*", "transfer", false],
    ["transfer.*", "transfer.settled.late", false],
    ["transfer.*", "transfers.settled", false],
    ["transfer.settled", "transfer.settled", true],
    ["transfer.settled", "transfer.failed", false],
    ["ledger.entry.posted", "ledger.entry.posted", true],
    ["ledger.*.posted", "ledger.entry.posted", true],
    ["ledger.*.posted", "ledger.hold.posted", true],
    ["ledger.*.posted", "ledger.hold.placed", false],
    ["ledger.**", "ledger.entry.posted", true],
    ["ledger.**", "ledger.account.created", true],
    ["ledger.**", "ledger", false],
    ["ledger.**", "transfer.settled", false],
    ["**", "anything.at.all", true],
    ["**", "x", true],
    ["*", "x", true],
    ["*", "x.y", false],
    ["transfer.*", "transfer.", false],
  ])("%s vs %s -> %s", (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it("matches any of several patterns", () => {
    expect(matchesAnyTopic(["transfer.settled", "ledger.hold.*"], "ledger.hold.voided")).toBe(true);
    expect(matchesAnyTopic(["transfer.settled", "ledger.hold.*"], "ledger.entry.posted")).toBe(false);
    expect(matchesAnyTopic([], "transfer.settled")).toBe(false);
  });
});

describe("topic pattern validation", () => {
  it.each([
    ["transfer.*", null],
    ["ledger.**", null],
    ["**", null],
    ["a_b-c.d1", null],
    ["", /empty/],
    ["Transfer.*", /segment "Transfer"/],
    ["transfer..settled", /segment ""/],
    ["**.settled", /"\*\*" before the last segment/],
    ["transfer.sett*", /segment "sett\*"/],
    ["x".repeat(201), /longer than 200/],
  ])("%s -> %s", (pattern, problem) => {
    const p = topicPatternProblem(pattern);
    if (problem === null) expect(p).toBeNull();
    else expect(p).toMatch(problem);
  });

  it("normalises (trim, de-duplicate, sort) and refuses empty, too many and malformed lists naming the pattern", () => {
    expect(checkTopicPatterns([" transfer.* ", "ledger.**", "transfer.*"])).toEqual(["ledger.**", "transfer.*"]);
    expect(() => checkTopicPatterns(["  "])).toThrow(/at least one topic pattern/);
    expect(() => checkTopicPatterns(Array.from({ length: 21 }, (_, i) => `t${i}`))).toThrow(/at most 20/);
    const err = (() => {
      try {
        checkTopicPatterns(["transfer.*", "Bad"]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("BAD_INPUT");
    expect((err as AppError).message).toMatch(/"Bad"/);
  });
});

describe("planFanOut", () => {
  it("creates one delivery per matching (event, subscription) pair and none for unmatched events", () => {
    const events = [
      { id: "1", topic: "transfer.created", aggregateId: "t1" },
      { id: "2", topic: "ledger.entry.posted", aggregateId: "e1" },
      { id: "3", topic: "ledger.account.created", aggregateId: "a1" },
    ];
    const subs = [
      { id: "s-transfers", topics: ["transfer.*"] },
      { id: "s-entries", topics: ["ledger.entry.posted", "transfer.settled"] },
      { id: "s-all", topics: ["**"] },
    ];
    expect(planFanOut(events, subs).map((p) => `${p.eventId}->${p.subscriptionId}`)).toEqual(["1->s-transfers", "1->s-all", "2->s-entries", "2->s-all", "3->s-all"]);
    expect(planFanOut(events, [{ id: "s", topics: ["pricing.*"] }])).toEqual([]);
    expect(planFanOut(events, [])).toEqual([]);
  });
});
