"use client";
/**
 * Adds a comment to a proposal's thread. One idempotency key per draft, so a double submit stores
 * the comment once; the thread is re-read from the server after it is stored.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";

export function CommentForm({ proposalId }: { proposalId: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const [body, setBody] = useState("");
  const [key, setKey] = useState(() => `console:comment:${crypto.randomUUID()}`);
  const [error, setError] = useState<string | null>(null);
  const { isRefreshing, refresh } = useServerRefresh();
  const comment = useMutation(trpc.approvals.comment.mutationOptions());

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (body.trim().length === 0) {
      setError("Write something first.");
      return;
    }
    setError(null);
    try {
      await comment.mutateAsync({ proposalId, body, idempotencyKey: key });
      setBody("");
      setKey(`console:comment:${crypto.randomUUID()}`);
      toast.success("Comment added.");
      refresh();
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <form onSubmit={submit} className="mt-3 space-y-2">
      <label htmlFor="comment-body" className={labelClass}>
        Add a comment
      </label>
      <textarea id="comment-body" rows={3} maxLength={4000} value={body} onChange={(e) => setBody(e.target.value)} className={inputClass} />
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <Button type="submit" disabled={comment.isPending || isRefreshing}>
        {comment.isPending ? "Adding…" : "Add comment"}
      </Button>
    </form>
  );
}
