"use client";
/**
 * Saved views of the breaks queue (savedViews.*), on the kit's FormDialog: "Save view" names the
 * view the page shows now (optionally shared with the team), and each of the person's own views has
 * a menu to rename, share or stop sharing, and delete it. The server stores the view in canonical
 * form and checks every rule (names, duplicates, the cap, ownership); its refusals show next to
 * the name field or above the buttons. Nothing changes on screen until the server confirmed; then
 * the page is read again, so the list beside the presets and which view is current come from it.
 */
import { useId, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useToast } from "../toast";
import { useTRPC } from "../trpc-provider";
import type { RouterOutputs } from "../kit/api-types";
import { ActionsMenu } from "../kit/actions-menu";
import { Button } from "../kit/button";
import { FormDialog, FormField } from "../kit/form-dialog";
import { useServerRefresh } from "../kit/list-navigation";

type SavedView = RouterOutputs["savedViews"]["list"][number];

/** The console's own limit, so a person is told before sending; the server checks it again. */
const NAME_MAX = 60;

const nameOf = (data: FormData) => String(data.get("name") ?? "").trim();

function localNameErrors(name: string): Record<string, string> | null {
  if (name === "") return { name: "give the view a name" };
  if ([...name].length > NAME_MAX) return { name: `at most ${NAME_MAX} characters` };
  return null;
}

function ShareCheckbox({ defaultChecked }: { defaultChecked: boolean }) {
  const id = useId();
  return (
    <div className="flex items-start gap-2 text-sm">
      <input id={id} type="checkbox" name="isShared" defaultChecked={defaultChecked} aria-describedby={`${id}-hint`} className="mt-1" />
      <div>
        <label htmlFor={id}>Share with the team</label>
        <p id={`${id}-hint`} className="text-xs text-zinc-500 dark:text-zinc-400">
          Everyone who can read breaks sees it; only you can rename or delete it.
        </p>
      </div>
    </div>
  );
}

/** "Save view": saves the queue's current view (`query`, as the page's URL has it) under a name. */
export function SaveViewButton({ query, isDefaultView }: { query: string; isDefaultView: boolean }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [isOpen, setIsOpen] = useState(false);
  const save = useMutation(trpc.savedViews.save.mutationOptions());
  return (
    <>
      <Button size="sm" onClick={() => setIsOpen(true)} disabled={isDefaultView} title={isDefaultView ? "Choose filters first: this is the queue's default view" : "Save the filters, sort and page size shown now under a name"}>
        Save view
      </Button>
      <FormDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title="Save this view"
        description={<>Keeps the filters, sort and page size shown now under a name of your choice, beside the presets. The page you are on is not kept: the view opens at the first page.</>}
        confirmLabel="Save view"
        keyScope="saved-view-save"
        onSubmit={async (data) => {
          const name = nameOf(data);
          const local = localNameErrors(name);
          if (local) return local;
          const view = await save.mutateAsync({ page: "breaks", name, query, isShared: data.get("isShared") === "on" });
          toast.success(`View ${view.name} saved${view.isShared ? " and shared with the team" : ""}`);
          refresh();
        }}
      >
        {(errors) => (
          <>
            <FormField name="name" label="Name" error={errors.name}>
              {(p) => <input {...p} type="text" maxLength={NAME_MAX} autoFocus placeholder="e.g. My EUR mismatches" />}
            </FormField>
            <ShareCheckbox defaultChecked={false} />
          </>
        )}
      </FormDialog>
    </>
  );
}

/** The menu of one of the person's own views: rename, share or stop sharing, delete. */
export function SavedViewMenu({ view }: { view: SavedView }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [dialog, setDialog] = useState<null | "rename" | "delete">(null);
  const rename = useMutation(trpc.savedViews.rename.mutationOptions());
  const share = useMutation(trpc.savedViews.share.mutationOptions());
  const remove = useMutation(trpc.savedViews.delete.mutationOptions());
  const toggleShared = () => {
    share.mutate(
      { viewId: view.id, isShared: !view.isShared },
      {
        onSuccess: (v) => {
          toast.success(v.isShared ? `View ${v.name} is shared with the team` : `View ${v.name} is yours only again`);
          refresh();
        },
        onError: (err) => toast.error(`Not changed: ${err.message}`),
      },
    );
  };
  return (
    <>
      <ActionsMenu
        label={`Manage view ${view.name}`}
        isDisabled={share.isPending}
        items={[
          { label: "Rename…", onSelect: () => setDialog("rename") },
          { label: view.isShared ? "Stop sharing" : "Share with the team", onSelect: toggleShared },
          { label: "Delete…", onSelect: () => setDialog("delete"), isDanger: true },
        ]}
      >
        <span className="sr-only">Manage</span>
      </ActionsMenu>
      <FormDialog
        isOpen={dialog === "rename"}
        onClose={() => setDialog(null)}
        title={`Rename view ${view.name}`}
        confirmLabel="Rename"
        keyScope="saved-view-rename"
        onSubmit={async (data) => {
          const name = nameOf(data);
          const local = localNameErrors(name);
          if (local) return local;
          const v = await rename.mutateAsync({ viewId: view.id, name });
          toast.success(`View renamed to ${v.name}`);
          refresh();
        }}
      >
        {(errors) => (
          <FormField name="name" label="New name" error={errors.name}>
            {(p) => <input {...p} type="text" maxLength={NAME_MAX} defaultValue={view.name} autoFocus />}
          </FormField>
        )}
      </FormDialog>
      <FormDialog
        isOpen={dialog === "delete"}
        onClose={() => setDialog(null)}
        title={`Delete view ${view.name}`}
        description={view.isShared ? <>It is shared: it disappears for the team as well. The breaks themselves are not touched.</> : <>Only the saved view goes; the breaks themselves are not touched.</>}
        confirmLabel="Delete view"
        isDanger
        keyScope="saved-view-delete"
        onSubmit={async () => {
          await remove.mutateAsync({ viewId: view.id });
          toast.success(`View ${view.name} deleted`);
          refresh();
        }}
      >
        {() => null}
      </FormDialog>
    </>
  );
}
