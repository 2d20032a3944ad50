/**
 * Downloads an evidence file attached to a proposal. Served only as an attachment, with nosniff
 * and a sandboxing CSP, so an uploaded file is never rendered by the console's origin. Access is
 * the same as reading the proposal (adjustments:read), checked through the tRPC caller.
 */
import { getPageActor } from "../../../../../page-access";
import { pageCaller } from "../../../../page-caller";

export const dynamic = "force-dynamic";

export async function GET(_req: Request, { params }: { params: Promise<{ id: string; evidenceId: string }> }) {
  const { id, evidenceId } = await params;
  const actor = await getPageActor();
  if (!actor) return new Response("sign in first", { status: 401 });
  if (!actor.permissions.has("adjustments:read")) return new Response("permission adjustments:read is required", { status: 403 });
  let file;
  try {
    file = await pageCaller(actor).approvals.evidence({ proposalId: id, evidenceId });
  } catch (e) {
    const code = (e as { code?: string }).code;
    return new Response(code === "NOT_FOUND" || code === "BAD_REQUEST" ? "no such evidence file" : "could not read the file", { status: code === "NOT_FOUND" || code === "BAD_REQUEST" ? 404 : 500 });
  }
  const ascii = file.fileName.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return new Response(Buffer.from(file.contentBase64, "base64"), {
    headers: {
      "Content-Type": file.contentType,
      "Content-Disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`,
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "default-src 'none'; sandbox",
      "Cache-Control": "private, no-store",
      "X-Evidence-Sha256": file.sha256,
    },
  });
}
