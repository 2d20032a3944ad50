/**
 * Gathers concurrent requests into groups that one transaction serves: the ledger's group commit
 * and grouped transfer creation. The first request of a group waits at most `windowMs` for others;
 * a group closes early at `maxItems`; at most `maxInFlight` groups run at once, and what arrives
 * meanwhile forms the next ones.
 *
 * Invariants kept:
 * - Two requests with the same key never wait in the same group (add() refuses the second; the
 *   caller serves it alone).
 * - What is due is spread evenly over the free slots, but never below `minSplit` per group:
 *   closed-loop callers arrive together, and one big group would keep all the work on one
 *   database backend (one core) while the other cores idle; tiny groups would forfeit what grouping
 *   saves (the per-transaction round trips and commit).
 * - Every item added is passed to `run` exactly once.
 */
export interface MicroBatcherSettings {
  windowMs: number;
  maxItems: number;
  maxInFlight: number;
  minSplit: number;
}

export class MicroBatcher<T> {
  private forming: T[] = [];
  private formingKeys = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private isDue = false;
  private inFlight = 0;

  constructor(
    private readonly cfg: MicroBatcherSettings,
    private readonly keyOf: (item: T) => string,
    private readonly run: (group: T[]) => Promise<void>,
  ) {}

  /** Queues the item; false when an item with its key is already waiting. */
  add(item: T): boolean {
    const key = this.keyOf(item);
    if (this.formingKeys.has(key)) return false;
    this.forming.push(item);
    this.formingKeys.add(key);
    if (this.forming.length >= this.cfg.maxItems) {
      this.isDue = true;
      this.flush();
    } else if (this.forming.length === 1 && !this.isDue) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.isDue = true;
        this.flush();
      }, this.cfg.windowMs);
    }
    return true;
  }

  private flush(): void {
    while (this.isDue && this.forming.length > 0 && this.inFlight < this.cfg.maxInFlight) {
      const free = this.cfg.maxInFlight - this.inFlight;
      const size = Math.min(this.cfg.maxItems, Math.max(this.cfg.minSplit, Math.ceil(this.forming.length / free)));
      const group = this.forming.splice(0, size);
      this.formingKeys = new Set(this.forming.map(this.keyOf));
      // Items left over already waited a full window: they go as soon as a group finishes.
      this.isDue = this.forming.length > 0;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.inFlight++;
      void this.run(group).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }
}
