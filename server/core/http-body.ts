/**
 * Reading a body that someone else sent (a request to the tRPC API or the webhook receiver, a
 * partner's response) into memory under a size limit. Web-standard streams only; no framework.
 *
 * Invariants kept:
 * - Never more than `maxBytes` are buffered: as soon as the bytes read pass the limit the stream
 *   is cancelled and BodyTooLargeError is thrown, so a huge or endless body costs at most the limit.
 * - A request whose declared Content-Length is over the limit is refused before anything is read.
 * - The bytes are returned exactly as sent; decoding them (and what to do with a BOM) is the
 *   caller's decision.
 */

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
 * `maxBytes`; `what` names the body in the error's message ("response body").
 */
export async function readBoundedBody(body: ReadableStream<Uint8Array> | null, maxBytes: number, what?: string): Promise<Buffer<ArrayBuffer>> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(maxBytes, what);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** A request's body as readBoundedBody reads it, refused first when its Content-Length is over the limit. */
export async function readBoundedRequestBody(req: Request, maxBytes: number): Promise<Buffer<ArrayBuffer>> {
  const declared = Number(req.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  return readBoundedBody(req.body, maxBytes);
}
