// Preloaded (node --import) into every child the launcher starts: when the launcher dies without
// cleaning up (SIGKILL, crash), its children notice their parent is gone and exit, so a crashed
// `npm start` leaves no stray web or worker processes behind.
const launcherPid = Number(process.env.LAUNCHER_PID);
if (Number.isInteger(launcherPid) && launcherPid > 0) {
  const timer = setInterval(() => {
    try {
      process.kill(launcherPid, 0);
    } catch {
      process.exit(1);
    }
  }, 1000);
  timer.unref();
}
