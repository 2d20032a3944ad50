import type { Metadata } from "next";
import { requirePageActor } from "../../page-access";
import { EmptyState, PageHeader } from "../../../components/ui";

export const metadata: Metadata = { title: "SLOs" };

export default async function SlosPage() {
  await requirePageActor("transfers:read", "/slos");
  return (
    <>
      <PageHeader title="SLOs" description="Service level objectives: success rate, latency, stuck count, reconciliation match rate and partner health." />
      <EmptyState title="No SLO data yet">
        <p>Charts appear here once transfers flow and the worker records their timings. With no transfers in this environment there is nothing to measure, and no figure is shown rather than an invented one.</p>
      </EmptyState>
    </>
  );
}
