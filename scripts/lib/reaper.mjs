// Started detached by the launcher: waits for the launcher to die and then shuts down the embedded
// PostgreSQL it started, if that is still running. A launcher that exits normally has stopped the
// server already, so then there is nothing to do. This is what keeps a SIGKILLed or crashed
// `npm start` from leaving a database server behind.
//
//   node reaper.mjs <launcher pid> <postgres data dir>
import { readFileSync } from "node:fs";
import path from "node:path";

const launcherPid = Number(process.argv[2]);
const pgData = process.argv[3];

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function postmasterPid() {
  try {
    const pid = Number(readFileSync(path.join(pgData, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

const timer = setInterval(() => {
  if (isAlive(launcherPid)) return;
  clearInterval(timer);
  const pid = postmasterPid();
  if (pid && isAlive(pid)) {
    try {
      // "Fast" shutdown: open transactions roll back, data stays consistent.
      process.kill(pid, "SIGINT");
    } catch {
      // Already gone.
    }
  }
  process.exit(0);
}, 500);
