/**
 * A wake-up signal that coalesces: calls within `delayMs` of each other, or while a send is in
 * flight, become one send (the one wanted during a send goes out after it). For hints whose
 * receiver drains everything pending (a job queue's "there is work", a NOTIFY to idle workers),
 * so that a burst of events costs one message. Never throws and never waits: `send`'s failure is
 * handed to `onError`, and the receiver's own polling covers a lost signal.
 */
export function coalescedSignal(send: () => Promise<unknown>, delayMs: number, onError: (e: Error) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let isSending = false;
  let isWanted = false;
  const run = async () => {
    timer = null;
    isSending = true;
    try {
      await send();
    } catch (e) {
      onError(e as Error);
    } finally {
      isSending = false;
      if (isWanted) {
        isWanted = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (isSending) isWanted = true;
    else timer ??= setTimeout(() => void run(), delayMs);
  };
  return schedule;
}
