import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isSameProcessAlive, processStartTime } from "../engines/local/processes.js";
import { UsageError } from "../domain/errors.js";

/**
 * One watcher per drop-folder root: two would race for the same folders. The lock is a file holding its
 * holder's pid, start time and host, which appears whole: written under a name of its own (the draft), then
 * linked into place, which fails if the lock exists (creating it and then writing would leave it empty to a
 * kill -9 in between, and the next watcher could not tell whose it is). A lock whose holder is gone (kill -9)
 * is taken over, by one watcher only: see takeOverDeadLock.
 */
export class RootLock {
  private readonly mine = `${process.pid} ${processStartTime(process.pid) ?? ""} ${os.hostname()}\n`;

  private constructor(readonly file: string) {}

  /** Takes the lock of `root`, or throws a UsageError naming the watcher that holds it. */
  static take(root: string): RootLock {
    const lock = new RootLock(path.join(root, ".corral-inbox.lock"));
    removeLeftovers(lock.file);
    for (let tries = 0; tries < 3; tries++) {
      if (lock.link()) return lock;
      const dead = deadLockText(lock.file, root);
      if (dead !== null) takeOverDeadLock(lock.file, dead);
    }
    throw new UsageError(`cannot take ${lock.file}`);
  }

  /**
   * Whether this watcher still holds the lock, checked between its steps. A lock gone (removed by hand, or
   * moved aside by a watcher killed while taking over) is taken again; one that is another watcher's is not.
   */
  held(): boolean {
    const text = readLock(this.file);
    if (text === null) return this.link();
    return text === this.mine;
  }

  release(): void {
    if (readLock(this.file) === this.mine) fs.rmSync(this.file, { force: true });
  }

  /** Links a whole draft into place: false if a lock is there. */
  private link(): boolean {
    const draft = `${this.file}.${process.pid}`;
    fs.writeFileSync(draft, this.mine);
    try {
      fs.linkSync(draft, this.file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      return false;
    } finally {
      fs.rmSync(draft, { force: true });
    }
  }
}

/**
 * Moves the lock of a holder found gone out of the way, and only that lock: two watchers that both found it
 * gone must not both take over (the second removing the first's fresh lock). It is renamed aside, which only
 * one of them can do, and looked at there: if it is not the dead holder's text after all (another watcher
 * took over in between), it is put back, by a link that never replaces a newer lock.
 */
export function takeOverDeadLock(file: string, deadText: string): void {
  const aside = `${file}.${process.pid}.gone`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // moved or released meanwhile
    throw err;
  }
  try {
    if (fs.readFileSync(aside, "utf8") !== deadText) {
      try {
        fs.linkSync(aside, file);
      } catch (err) {
        // A third watcher linked its own meanwhile: the one moved aside sees its lock is not its own (held()).
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function readLock(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** The lock's text if its holder is gone (null if it was released meanwhile); throws if it may be watching. */
function deadLockText(file: string, root: string): string | null {
  const text = readLock(file);
  if (text === null) return null;
  // An empty lock is a torn one from before locks were linked into place: its writer died writing it.
  if (text.trim() === "") return text;
  const [pid, start, host] = text.trim().split(" ");
  if (host === os.hostname() && isSameProcessAlive(Number(pid), start ?? null)) {
    throw new UsageError(`another corral inbox (pid ${pid}) is watching ${root}`);
  }
  if (host !== os.hostname()) throw new UsageError(`another corral inbox (pid ${pid} on ${host}) may be watching ${root}; remove ${file} if it is not`);
  return text;
}

/**
 * Drafts and locks moved aside that a watcher killed -9 left beside the lock (`.corral-inbox.lock.PID`,
 * `.corral-inbox.lock.PID.gone`): removed once that process is gone. A moved-aside lock whose holder lives
 * is that holder's to take again (held()), so it is removed too.
 */
function removeLeftovers(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  for (const name of fs.readdirSync(dir)) {
    const m = name.startsWith(prefix) ? /^(\d+)(\.gone)?$/.exec(name.slice(prefix.length)) : null;
    // Any process with that pid keeps them: one reused pid leaves a leftover longer, never removes a live one's.
    if (!m || Number(m[1]) === process.pid || processStartTime(Number(m[1])) !== null) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}
