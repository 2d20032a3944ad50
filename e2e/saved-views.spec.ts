/**
 * Saved views of the breaks queue in a real browser: the demo operator finds their seeded views
 * beside the presets, saves the filtered view shown now under a name (kept without the junk the URL
 * carried), sees it listed and current, still after a reload, is refused a duplicate name under the
 * name field, renames and deletes it; a viewer sees the operator's shared view but not the private
 * one, and has no menu on it. Names carry a random tag: specs share one database.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { signIn } from "./support/auth";

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

test.describe("saved views of the breaks queue", () => {
  test("save the filtered view, see it current after a reload, rename it, delete it", async ({ browser }) => {
    const tag = randomUUID().slice(0, 6);
    const name = `Old duplicates ${tag}`;
    const operator = await newPage(browser);
    await signIn(operator, "operator");

    // The demo operator's own and shared views are listed beside the presets.
    await operator.goto("/breaks");
    const views = operator.getByRole("navigation", { name: "Saved views" });
    await expect(views.getByRole("link", { name: /^My open mismatches/ })).toBeVisible();
    await expect(views.getByRole("link", { name: /^Large EUR breaks/ })).toBeVisible();
    await expect(views.getByRole("button", { name: "Save view" })).toBeDisabled();

    // A filtered view, with a param the queue does not know and a cursor: neither is kept.
    await operator.goto("/breaks?type=duplicate&status=open&sort=newest&limit=25&utm=junk&cursor=abc");
    await views.getByRole("button", { name: "Save view" }).click();
    const dialog = operator.getByRole("dialog", { name: "Save this view" });
    await dialog.getByLabel("Name", { exact: true }).fill(`  ${name}  `);
    await expect(dialog.getByRole("checkbox", { name: "Share with the team" })).not.toBeChecked();
    await dialog.getByRole("button", { name: "Save view" }).click();
    await expect(dialog).toHaveCount(0);
    const saved = views.getByRole("link", { name, exact: true });
    await expect(saved).toHaveAttribute("href", "/breaks?type=duplicate&status=open&sort=newest&limit=25");
    // Current only once the cursor is gone: the saved view opens at the first page.
    await operator.goto("/breaks?type=duplicate&status=open&sort=newest&limit=25");
    await expect(saved).toHaveAttribute("aria-current", "page");
    await operator.reload();
    await expect(views.getByRole("link", { name, exact: true })).toHaveAttribute("aria-current", "page");
    await expect(operator.getByRole("navigation", { name: "Saved filters" }).getByRole("link", { name: "Open", exact: true })).not.toHaveAttribute("aria-current", "page");

    // Elsewhere it is not current; following it shows its view.
    await operator.goto("/breaks");
    await expect(views.getByRole("link", { name, exact: true })).not.toHaveAttribute("aria-current", "page");
    await views.getByRole("link", { name, exact: true }).click();
    await expect(operator).toHaveURL(/\/breaks\?type=duplicate&status=open&sort=newest&limit=25$/);
    await expect(operator.getByRole("group", { name: "Type" }).getByRole("checkbox", { name: "Duplicate" })).toBeChecked();

    // The same name again (in other letter case) is refused under the name field; nothing is added.
    await operator.goto("/breaks?type=statement_gap");
    await views.getByRole("button", { name: "Save view" }).click();
    await dialog.getByLabel("Name", { exact: true }).fill(name.toUpperCase());
    await dialog.getByRole("button", { name: "Save view" }).click();
    await expect(dialog.getByLabel("Name", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expect(dialog.getByRole("alert")).toContainText("is taken");
    await dialog.getByRole("button", { name: "Close" }).click();
    await expect(views.getByRole("link", { name: new RegExp(`^${name}`, "i") })).toHaveCount(1);

    // Rename through its menu.
    const renamed = `Recent duplicates ${tag}`;
    await views.getByRole("button", { name: `Manage view ${name}` }).click();
    await operator.getByRole("menuitem", { name: "Rename…" }).click();
    const renameDialog = operator.getByRole("dialog", { name: `Rename view ${name}` });
    await renameDialog.getByLabel("New name").fill(renamed);
    await renameDialog.getByRole("button", { name: "Rename" }).click();
    await expect(renameDialog).toHaveCount(0);
    await expect(views.getByRole("link", { name: renamed, exact: true })).toBeVisible();
    await expect(views.getByRole("link", { name, exact: true })).toHaveCount(0);

    // Delete it.
    await views.getByRole("button", { name: `Manage view ${renamed}` }).click();
    await operator.getByRole("menuitem", { name: "Delete…" }).click();
    const deleteDialog = operator.getByRole("dialog", { name: `Delete view ${renamed}` });
    await deleteDialog.getByRole("button", { name: "Delete view" }).click();
    await expect(deleteDialog).toHaveCount(0);
    await expect(views.getByRole("link", { name: renamed, exact: true })).toHaveCount(0);
    await operator.reload();
    await expect(views.getByRole("link", { name: renamed, exact: true })).toHaveCount(0);
  });

  test("a viewer sees the operator's shared view, read-only, and not the private one", async ({ browser }) => {
    const viewer = await newPage(browser);
    await signIn(viewer, "viewer");
    await viewer.goto("/breaks");
    const views = viewer.getByRole("navigation", { name: "Saved views" });
    const shared = views.getByRole("link", { name: /^Large EUR breaks/ });
    await expect(shared).toBeVisible();
    await expect(shared).toContainText("Omar Operator");
    await expect(views.getByRole("link", { name: /^My open mismatches/ })).toHaveCount(0);
    await expect(views.getByRole("button", { name: /^Manage view Large EUR breaks/ })).toHaveCount(0);
    await shared.click();
    await expect(viewer).toHaveURL(/\/breaks\?currency=EUR&min=100\.00&sort=amount_desc$/);
    await expect(views.getByRole("link", { name: /^Large EUR breaks/ })).toHaveAttribute("aria-current", "page");
  });
});
