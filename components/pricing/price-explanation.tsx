/**
 * A price explained line by line (pricing.explain): the fee's rule, tier, formula, rounding,
 * minimum and maximum, and for a conversion the reference date, the rates per EUR, the mid rate,
 * the spread and the customer rate; each with links to the schedule version and the rates used.
 * A server component: the lines are text computed by the server, shown as they are.
 */
import Link from "next/link";
import type { RouterOutputs } from "../kit/api-types";
import { linkClass } from "../ui";

export type PriceExplanationData = RouterOutputs["pricing"]["explain"]["explanation"];
type ExplanationLink = PriceExplanationData["links"][number];

/** Where a link of an explanation leads in the console. */
export function explanationHref(link: ExplanationLink): string {
  if (link.type === "fee_schedule_version") return `/pricing/versions/${encodeURIComponent(link.id)}`;
  // "USD:2025-05-09": the currency's chart over the month up to that date.
  const [currency = "", date = ""] = link.id.split(":");
  return `/pricing/rates?currency=${encodeURIComponent(currency)}&to=${encodeURIComponent(date)}`;
}

function Lines({ title, lines }: { title: string; lines: readonly { label: string; text: string }[] }) {
  return (
    <section aria-label={title} className="mt-3">
      <h3 className="text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{title}</h3>
      <ol className="mt-1 space-y-0.5 text-sm">
        {lines.map((l, i) => (
          <li key={`${l.label}-${i}`} className="grid grid-cols-[10rem_1fr] gap-3">
            <span className="text-zinc-500 dark:text-zinc-400">{l.label}</span>
            <span className="font-mono text-xs leading-5 break-words">{l.text}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function PriceExplanation({ explanation }: { explanation: PriceExplanationData }) {
  return (
    <div>
      <p className="text-sm font-medium">{explanation.summary}</p>
      {explanation.fee ? <Lines title="Fee" lines={explanation.fee.lines} /> : null}
      {explanation.conversion ? <Lines title="Conversion" lines={explanation.conversion.lines} /> : null}
      {explanation.links.length > 0 ? (
        <p className="mt-3 flex flex-wrap gap-x-4 gap-y-1 text-sm">
          <span className="text-zinc-500 dark:text-zinc-400">Used:</span>
          {explanation.links.map((l) => (
            <Link key={`${l.type}:${l.id}`} href={explanationHref(l)} className={linkClass}>
              {l.type === "fee_schedule_version" ? `Fee schedule ${l.label}` : `Rate ${l.label}`}
            </Link>
          ))}
        </p>
      ) : null}
    </div>
  );
}
