"use client";
/** Prints the page (a browser's print to PDF gives the report as a document). */
import { Button } from "../kit/button";

export function PrintButton() {
  return <Button onClick={() => window.print()}>Print or save as PDF</Button>;
}
