/**
 * Audit chain anchors: the heads of every audit lane, signed with a key the database does not
 * hold, published outside the database (an outbox event for subscribers, and a line appended to
 * a file or log sink). Someone who owns the database can rewrite a record and recompute every
 * hash after it, so the chain alone then verifies; the anchors they cannot forge still name the
 * hash each lane had at each anchored sequence number, and the rewritten chain no longer has it.
 *
 * Invariants kept:
 * - An anchor is `{ v: 1, at, lanes: [[lane, lastSeq, lastHash], ...] }` in canonical JSON, signed
 *   with Ed25519 (AUDIT_ANCHOR_SIGNING_KEY, PKCS#8). The signing key lives only in the worker's
 *   configuration, never in a table; verifying needs only the public key.
 * - The heads are read in one statement, so an anchor names a state that existed (each lane's head
 *   and its hash); a record appended later simply is not covered until the next anchor.
 * - Verification checks, for every anchor: its signature under the trusted public key, and for
 *   every lane that the record at the anchored sequence number exists and has exactly the anchored
 *   hash. Together with the chain's own verification (prev_hash links) that proves every record up
 *   to the anchor is the one that was anchored.
 */
import { appendFile } from "node:fs/promises";
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";

export const ANCHOR_TOPIC = "audit.anchor";

export interface AnchorPayload {
  v: 1;
  at: string;
  lanes: [lane: number, lastSeq: string, lastHash: string][];
}

export interface SignedAnchor {
  payload: AnchorPayload;
  /** Ed25519 signature over canonical JSON of the payload, base64. */
  signature: string;
  /** SHA-256 of the public key (SPKI DER), hex, first 16 characters: which key signed. */
  keyId: string;
}

function keyFrom(raw: string, kind: "private" | "public"): KeyObject {
  const text = raw.trim();
  const isPem = text.startsWith("-----BEGIN");
  if (kind === "private") return isPem ? createPrivateKey(text) : createPrivateKey({ key: Buffer.from(text, "base64"), format: "der", type: "pkcs8" });
  return isPem ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, "base64"), format: "der", type: "spki" });
}

/** The Ed25519 private key from its configured form (PKCS#8 PEM, or base64 DER). */
export function anchorSigningKey(raw: string): KeyObject {
  const k = keyFrom(raw, "private");
  if (k.asymmetricKeyType !== "ed25519") throw new Error("AUDIT_ANCHOR_SIGNING_KEY must be an Ed25519 private key");
  return k;
}

/** The Ed25519 public key from its configured form (SPKI PEM, or base64 DER). */
export function anchorPublicKey(raw: string): KeyObject {
  const k = keyFrom(raw, "public");
  if (k.asymmetricKeyType !== "ed25519") throw new Error("AUDIT_ANCHOR_PUBLIC_KEY must be an Ed25519 public key");
  return k;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ format: "der", type: "spki" })).digest("hex").slice(0, 16);
}

function canonical(p: AnchorPayload): Buffer {
  return Buffer.from(JSON.stringify({ v: p.v, at: p.at, lanes: p.lanes.map(([l, s, h]) => [l, s, h]) }), "utf8");
}

/** The heads of every lane now, in lane order. */
export async function readLaneHeads(db: Pick<DbHandles, "pool"> | { pool: pg.Pool }): Promise<AnchorPayload["lanes"]> {
  const res = await db.pool.query<{ lane: number; last_seq: string; last_hash: string }>(`SELECT lane, last_seq::text AS last_seq, last_hash FROM audit_lanes ORDER BY lane`);
  return res.rows.map((r) => [r.lane, r.last_seq, r.last_hash]);
}

export function signAnchor(lanes: AnchorPayload["lanes"], at: Date, privateKey: KeyObject): SignedAnchor {
  const payload: AnchorPayload = { v: 1, at: at.toISOString(), lanes };
  return { payload, signature: sign(null, canonical(payload), privateKey).toString("base64"), keyId: keyIdOf(createPublicKey(privateKey)) };
}

export function isAnchorSignatureValid(anchor: SignedAnchor, publicKey: KeyObject): boolean {
  try {
    return verify(null, canonical(anchor.payload), publicKey, Buffer.from(anchor.signature, "base64"));
  } catch {
    return false;
  }
}

/**
 * Signs the current heads and publishes the anchor: an outbox event (topic audit.anchor, for
 * subscribers that keep it elsewhere) and, when `file` is given, one JSON line appended to it.
 */
export async function publishAnchor(db: Pick<DbHandles, "pool">, opts: { privateKey: KeyObject; file?: string | null; now?: Date }): Promise<SignedAnchor> {
  const anchor = signAnchor(await readLaneHeads(db), opts.now ?? new Date(), opts.privateKey);
  await db.pool.query(`INSERT INTO outbox_events (topic, aggregate_id, payload) VALUES ($1, 'audit', $2::jsonb)`, [ANCHOR_TOPIC, JSON.stringify(anchor)]);
  if (opts.file) await appendFile(opts.file, `${JSON.stringify(anchor)}\n`, { mode: 0o600 });
  return anchor;
}

/** Parses a file of anchors (one JSON object per line; blank lines skipped). Throws naming the bad line. */
export function parseAnchors(text: string): SignedAnchor[] {
  const out: SignedAnchor[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim().length === 0) return;
    let a: SignedAnchor;
    try {
      a = JSON.parse(line) as SignedAnchor;
    } catch {
      throw new Error(`anchors line ${i + 1} is not JSON`);
    }
    if (a?.payload?.v !== 1 || !Array.isArray(a.payload.lanes) || typeof a.signature !== "string") throw new Error(`anchors line ${i + 1} is not an audit anchor`);
    out.push(a);
  });
  return out;
}

export interface AnchorProblem {
  anchorAt: string;
  lane: number | null;
  laneSeq: string | null;
  problem: string;
}

/**
 * Checks the stored chain against anchors. Returns every problem found (empty: every anchored head
 * is still in the log with its anchored hash). Combine with verifyAuditChain, which proves the
 * links between anchored points.
 */
export async function verifyAgainstAnchors(db: { pool: pg.Pool }, anchors: readonly SignedAnchor[], publicKey: KeyObject): Promise<AnchorProblem[]> {
  const problems: AnchorProblem[] = [];
  for (const a of anchors) {
    if (!isAnchorSignatureValid(a, publicKey)) {
      problems.push({ anchorAt: a.payload.at, lane: null, laneSeq: null, problem: `the anchor's signature does not verify under key ${keyIdOf(publicKey)}` });
      continue;
    }
    const withRecords = a.payload.lanes.filter(([, seq]) => seq !== "0");
    const res = await db.pool.query<{ lane: number; lane_seq: string; hash: string }>(
      `SELECT a.lane, a.lane_seq::text AS lane_seq, a.hash FROM audit_log a
         JOIN unnest($1::int[], $2::bigint[]) AS w(lane, seq) ON a.lane = w.lane AND a.lane_seq = w.seq`,
      [withRecords.map(([l]) => l), withRecords.map(([, s]) => s)],
    );
    for (const [lane, seq, hash] of withRecords) {
      const row = res.rows.find((r) => r.lane === lane && r.lane_seq === seq);
      if (!row) problems.push({ anchorAt: a.payload.at, lane, laneSeq: seq, problem: `record ${seq} of lane ${lane} is gone (anchored at ${a.payload.at})` });
      else if (row.hash !== hash) problems.push({ anchorAt: a.payload.at, lane, laneSeq: seq, problem: `record ${seq} of lane ${lane} has hash ${row.hash.slice(0, 12)}…, the anchor of ${a.payload.at} says ${hash.slice(0, 12)}…: the chain was rewritten` });
    }
  }
  return problems;
}
