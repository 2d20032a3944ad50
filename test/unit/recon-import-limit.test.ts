// The API's largest statement, base64 in a tRPC JSON body, fits under the API's body limit:
// otherwise the HTTP layer refuses it with 413 before the router's own STATEMENT_TOO_LARGE.
import { describe, expect, it } from "vitest";
import { API_MAX_IMPORT_BYTES } from "../../server/recon/import";
import { TRPC_MAX_BODY_BYTES } from "../../server/api/http-handler";

describe("recon.importStatement's size limit", () => {
  it("a file of API_MAX_IMPORT_BYTES, base64 in a JSON body with a long name and key, is under TRPC_MAX_BODY_BYTES", () => {
    const body = JSON.stringify({
      json: {
        sourceId: "00000000-0000-4000-8000-000000000000",
        fileName: "n".repeat(255),
        contentBase64: Buffer.alloc(API_MAX_IMPORT_BYTES, 0xff).toString("base64"),
        idempotencyKey: "k".repeat(200),
      },
    });
    expect(Buffer.byteLength(body)).toBeLessThan(TRPC_MAX_BODY_BYTES);
  });
});
