/**
 * Reading a body that someone else sent (a request to the tRPC API or the webhook receiver, a
 * partner's response) into memory under a size limit: a web-standard stream (Request, fetch's
 * Response) or a Node stream (undici's request, server/core/http-client.ts); no framework.
 *
 * Invariants kept:
 * - Never more than `maxBytes` are buffered: as soon as the bytes read pass the limit the stream
 *   is cancelled and BodyTooLargeError is thrown, so a huge or endless body costs at most the limit.
 * - A request whose declared Content-Length is over the limit is refused before anything is read.
 * - The bytes are returned exactly as sent; decoding them (and what to do with a BOM) is the
 *   caller's decision.
 */

import type { Readable } from "node:stream";

/** A body over its limit, declared or found while reading. */
export class BodyTooLargeError extends Error {
  constructor(
    readonly maxBytes: number,
    what = "body",
  ) {
    super(`${what} larger than ${maxBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * The bytes of `body` (none for a missing body), refusing with BodyTooLargeError once they pass
 * `maxBytes`; `what` names the body in the error's message ("response body"). Leaving the loop
 * early (the limit, or a failed read) cancels a web stream and destroys a Node stream: that is
 * what both streams' async iterators do when the loop is left.
 */
export async function readBoundedBody(body: ReadableStream<Uint8Array> | Readable | null, maxBytes: number, what?: string): Promise<Buffer<ArrayBuffer>> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes, what);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A request's body as readBoundedBody reads it, refused first when its Content-Length is over the limit. */
export async function readBoundedRequestBody(req: Request, maxBytes: number): Promise<Buffer<ArrayBuffer>> {
  const declared = Number(req.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  return readBoundedBody(req.body, maxBytes);
}
