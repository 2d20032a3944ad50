// Reading a webhook's raw body (server/partners/webhook-http.ts): bytes exactly as sent (a BOM and
// odd whitespace kept), and the 64 KiB limit on declared and on streamed sizes.
import { describe, expect, it } from "vitest";
import { BodyTooLargeError } from "../../server/core/http-body";
import { readRawBody } from "../../server/partners/webhook-http";

const streamOf = (chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
const req = (body: BodyInit, headers: Record<string, string> = {}) => new Request("http://x/api/webhooks/sandbox", { method: "POST", body, headers, duplex: "half" } as RequestInit);

describe("readRawBody", () => {
  it("keeps a byte-order mark, CRLF and trailing spaces", async () => {
    const text = '\uFEFF{"id":"evt_1"}\r\n  ';
    expect(await readRawBody(req(text), 1024)).toBe(text);
  });

  it("joins a body streamed in chunks, including a UTF-8 character split across chunks", async () => {
    const bytes = Buffer.from('{"name":"Zoë"}', "utf8");
    const at = bytes.indexOf(0xc3) + 1;
    expect(await readRawBody(req(streamOf([bytes.subarray(0, at), bytes.subarray(at)])), 1024)).toBe('{"name":"Zoë"}');
  });

  it("refuses a declared size over the limit without reading", async () => {
    await expect(readRawBody(req("x", { "content-length": "65537" }), 65_536)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it("refuses a streamed body that grows past the limit (no content-length)", async () => {
    const chunk = new Uint8Array(16 * 1024).fill(120);
    await expect(readRawBody(req(streamOf([chunk, chunk, chunk, chunk, chunk])), 65_536)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(await readRawBody(req(streamOf([chunk, chunk, chunk, chunk])), 65_536)).toHaveLength(65_536);
  });

  it("reads an empty body as an empty string", async () => {
    expect(await readRawBody(new Request("http://x", { method: "POST" }), 10)).toBe("");
  });
});
