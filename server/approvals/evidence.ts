/**
 * Evidence attached to a proposal: a link, or an uploaded file stored in the database.
 *
 * Invariants kept:
 * - Only a short list of document types is accepted, and the bytes must look like the type
 *   claimed (PDF, PNG and JPEG by their signatures; text and CSV as UTF-8 without NUL bytes), so
 *   an HTML page or a script cannot be uploaded under a harmless name.
 * - Files are at most MAX_EVIDENCE_BYTES; the database checks the size again.
 * - File names are reduced to a safe base name; files are only ever served as downloads
 *   (Content-Disposition: attachment, nosniff, a sandboxing CSP), never rendered inline.
 * - Links are absolute http(s) URLs and are rendered with rel="noopener noreferrer".
 */
import { createHash } from "node:crypto";
import { AppError } from "../errors/app-error";

export const MAX_EVIDENCE_BYTES = 1024 * 1024;
export const MAX_EVIDENCE_URL_LENGTH = 2000;

export const EVIDENCE_CONTENT_TYPES = ["application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv"] as const;
export type EvidenceContentType = (typeof EVIDENCE_CONTENT_TYPES)[number];

export interface EvidenceFileInput {
  fileName: string;
  contentType: string;
  contentBase64: string;
}

export interface CheckedEvidenceFile {
  fileName: string;
  contentType: EvidenceContentType;
  content: Buffer;
  sha256: string;
}

function startsWith(buf: Buffer, bytes: number[]): boolean {
  return bytes.every((b, i) => buf[i] === b);
}

function looksLike(contentType: EvidenceContentType, buf: Buffer): boolean {
  switch (contentType) {
    case "application/pdf":
      return startsWith(buf, [0x25, 0x50, 0x44, 0x46, 0x2d]);
    case "image/png":
      return startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    case "image/jpeg":
      return startsWith(buf, [0xff, 0xd8, 0xff]);
    case "text/plain":
    case "text/csv":
      if (buf.includes(0)) return false;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(buf);
        return true;
      } catch {
        return false;
      }
  }
}

/** A safe base name: no folders, no control characters, at most 120 characters. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = [...base].filter((ch) => ch.charCodeAt(0) >= 0x20 && ch !== "\u007f" && !'"<>:|?*'.includes(ch)).join("").trim();
  return (cleaned.length > 0 ? cleaned : "evidence").slice(-120);
}

/** Validates an uploaded file. Errors: BAD_INPUT naming what is wrong. */
export function checkEvidenceFile(input: EvidenceFileInput): CheckedEvidenceFile {
  const contentType = input.contentType as EvidenceContentType;
  if (!EVIDENCE_CONTENT_TYPES.includes(contentType)) {
    throw new AppError("BAD_INPUT", `evidence files must be one of ${EVIDENCE_CONTENT_TYPES.join(", ")}; got ${JSON.stringify(input.contentType)}`);
  }
  if (typeof input.contentBase64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(input.contentBase64)) throw new AppError("BAD_INPUT", "the evidence file must be sent as base64");
  if (input.contentBase64.length > Math.ceil((MAX_EVIDENCE_BYTES * 4) / 3) + 4) throw new AppError("BAD_INPUT", `the evidence file is larger than ${MAX_EVIDENCE_BYTES} bytes`);
  const content = Buffer.from(input.contentBase64, "base64");
  if (content.length === 0) throw new AppError("BAD_INPUT", "the evidence file is empty");
  if (content.length > MAX_EVIDENCE_BYTES) throw new AppError("BAD_INPUT", `the evidence file is ${content.length} bytes; at most ${MAX_EVIDENCE_BYTES} are accepted`);
  if (!looksLike(contentType, content)) throw new AppError("BAD_INPUT", `the evidence file's content is not ${contentType}`);
  return { fileName: safeFileName(input.fileName), contentType, content, sha256: createHash("sha256").update(content).digest("hex") };
}

/** Validates an evidence link. Errors: BAD_INPUT. */
export function checkEvidenceUrl(url: string): string {
  const trimmed = url.trim();
  if (trimmed.length > MAX_EVIDENCE_URL_LENGTH) throw new AppError("BAD_INPUT", `the evidence link is longer than ${MAX_EVIDENCE_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(trimmed);
  } catch {
    throw new AppError("BAD_INPUT", `the evidence link ${JSON.stringify(trimmed.slice(0, 100))} is not an absolute URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new AppError("BAD_INPUT", "the evidence link must be an http(s) URL");
  return u.toString();
}
