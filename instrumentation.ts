/**
 * Runs once when the web server starts: an invalid configuration (a malformed variable, or demo
 * settings in production) stops it before it serves a request, naming each bad variable.
 */
export async function register(): Promise<void> {
  const { exitOnInvalidConfiguration } = await import("./server/env");
  exitOnInvalidConfiguration("web");
}
