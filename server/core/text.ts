/**
 * What text may be stored. PostgreSQL cannot store NUL in text or jsonb, and a lone UTF-16
 * surrogate has no UTF-8 form (the driver would silently store U+FFFD instead); other control
 * characters have no business in names, descriptions, references or metadata and hide content
 * from the people who read them. Every string that comes in is checked here, and refused with the
 * field named, before anything is written.
 */
import { AppError } from "../errors/app-error";

// C0 controls except tab, line feed and carriage return; DEL; C1 controls; lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\p{Cs}/u;

/** Why `s` cannot be stored, or null when it can. */
export function badTextReason(s: string): string | null {
  const m = BAD_CHARACTER.exec(s);
  if (!m) return null;
  const ch = m[0];
  if (ch === "\u0000") return "contains a NUL character";
  if (/\p{Cs}/u.test(ch)) return "contains an unpaired UTF-16 surrogate";
  return `contains the control character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Refuses text that cannot be stored. Errors: BAD_INPUT naming the field and the character. */
export function assertCleanText(s: string, field: string): void {
  const reason = badTextReason(s);
  if (reason) throw new AppError("BAD_INPUT", `${field} ${reason}`, { details: { field } });
}

/**
 * The path of the first string (a value or an object key) in `value` that cannot be stored, with
 * the reason, or null. Walks plain objects and arrays; at most `maxNodes` nodes are visited.
 */
export function findBadText(value: unknown, path = "", maxNodes = 100_000): { path: string; reason: string } | null {
  let visited = 0;
  const walk = (v: unknown, p: string): { path: string; reason: string } | null => {
    if (++visited > maxNodes) return null;
    if (typeof v === "string") {
      const reason = badTextReason(v);
      return reason ? { path: p || "(input)", reason } : null;
    }
    if (v === null || typeof v !== "object" || v instanceof Date) return null;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const bad = walk(v[i], `${p}[${i}]`);
        if (bad) return bad;
      }
      return null;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const keyPath = p ? `${p}.${k}` : k;
      const keyReason = badTextReason(k);
      if (keyReason) return { path: `${p || "(input)"} key ${JSON.stringify(k.replace(BAD_CHARACTER, "?"))}`, reason: keyReason };
      const bad = walk(child, keyPath);
      if (bad) return bad;
    }
    return null;
  };
  return walk(value, path);
}
