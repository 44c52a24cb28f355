import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import readline from "node:readline";

/** What a launcher reports back about the wrappers it starts. */
export interface LaunchEvents {
  started(attemptId: number, pid: number): void;
  exited(attemptId: number): void;
  failed(attemptId: number, why: string): void;
  /** The launcher itself died: the attempts it started are no longer watched by it. */
  lost(): void;
}

/** Starts attempt wrapper scripts, each in a session of its own, with default signal handling. */
export interface Launcher {
  readonly kind: string;
  /** CPU seconds used by the launcher itself and by the wrappers it reaped (Linux), for the supervisor's log. */
  cpu(): { own: number; children: number } | null;
  launch(attemptId: number, wrapperPath: string): void;
  close(): void;
}

/**
 * A small resident Perl process forks the wrappers. Forking the supervisor itself (tens of MB of Node) for
 * every attempt costs milliseconds of kernel time and page faults afterwards; forking a tiny process costs
 * next to nothing. Perl (perl-base is Essential on Debian) is used because a POSIX shell cannot put a child
 * in its own session without leaving SIGINT/SIGQUIT ignored in it, nor report which child exited.
 *
 * Protocol, one line each: in `ID PATH`; out `S ID PID` (started), `D PID` (reaped), `E ID REASON`.
 */
const PERL_LAUNCHER = String.raw`
use strict; use warnings; use POSIX ();
$| = 1;
$SIG{CHLD} = sub { while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) { print "D $pid\n"; } };
for (;;) {
  my $line = <STDIN>;
  if (!defined $line) { last unless $!{EINTR}; next; }
  chomp $line;
  my ($id, $path) = split(/ /, $line, 2);
  my $pid = fork();
  if (!defined $pid) { print "E $id fork failed: $!\n"; next; }
  if ($pid == 0) {
    POSIX::setsid();
    $SIG{$_} = 'DEFAULT' for qw(INT QUIT TERM HUP PIPE CHLD USR1 USR2 ALRM XCPU);
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>', '/dev/null'); open(STDERR, '>', '/dev/null');
    exec('/bin/sh', $path) or POSIX::_exit(127);
  }
  print "S $id $pid\n";
}
`;

class PerlLauncher implements Launcher {
  readonly kind = "perl";
  private readonly proc: ChildProcess;
  private readonly byPid = new Map<number, number>();
  private readonly earlyExits = new Set<number>();
  private closed = false;

  constructor(private readonly events: LaunchEvents) {
    this.proc = spawn("perl", ["-e", PERL_LAUNCHER], { detached: true, stdio: ["pipe", "pipe", "inherit"], env: { PATH: "/usr/bin:/bin" } });
    this.proc.stdin!.on("error", () => undefined);
    const lines = readline.createInterface({ input: this.proc.stdout! });
    lines.on("line", (line) => this.onLine(line));
    this.proc.on("exit", () => {
      if (!this.closed) this.events.lost();
    });
  }

  private onLine(line: string): void {
    const [kind, a, ...rest] = line.split(" ");
    if (kind === "S") {
      const id = Number(a);
      const pid = Number(rest[0]);
      this.events.started(id, pid);
      // A very short job may be reaped before its start is reported.
      if (this.earlyExits.delete(pid)) this.events.exited(id);
      else this.byPid.set(pid, id);
    } else if (kind === "D") {
      const pid = Number(a);
      const id = this.byPid.get(pid);
      if (id === undefined) this.earlyExits.add(pid);
      else {
        this.byPid.delete(pid);
        this.events.exited(id);
      }
    } else if (kind === "E") {
      this.events.failed(Number(a), rest.join(" "));
    }
  }

  cpu(): { own: number; children: number } | null {
    try {
      const f = fs
        .readFileSync(`/proc/${this.proc.pid}/stat`, "utf8")
        .slice(fs.readFileSync(`/proc/${this.proc.pid}/stat`, "utf8").lastIndexOf(")") + 2)
        .split(" ");
      const tick = 100; // USER_HZ on Linux
      return { own: (Number(f[11]) + Number(f[12])) / tick, children: (Number(f[13]) + Number(f[14])) / tick };
    } catch {
      return null;
    }
  }

  launch(attemptId: number, wrapperPath: string): void {
    this.proc.stdin!.write(`${attemptId} ${wrapperPath}\n`);
  }

  close(): void {
    this.closed = true;
    this.proc.stdin!.end();
    this.proc.unref();
  }
}

/** The fallback without Perl: Node forks the wrapper itself (same behaviour, slower for short jobs). */
class NodeLauncher implements Launcher {
  readonly kind = "node";
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly events: LaunchEvents) {}

  launch(attemptId: number, wrapperPath: string): void {
    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", [wrapperPath], { detached: true, stdio: "ignore", env: { PATH: "/usr/bin:/bin" } });
    } catch (err) {
      this.events.failed(attemptId, (err as Error).message);
      return;
    }
    if (child.pid === undefined) {
      child.on("error", (err) => this.events.failed(attemptId, err.message));
      return;
    }
    this.children.add(child);
    this.events.started(attemptId, child.pid);
    child.on("exit", () => {
      this.children.delete(child);
      this.events.exited(attemptId);
    });
  }

  cpu(): null {
    return null;
  }

  close(): void {
    for (const child of this.children) child.unref();
  }
}

/** Perl when the machine has it (with a line-safe path), else Node; CORRAL_LAUNCHER=node forces the fallback. */
export function createLauncher(events: LaunchEvents): Launcher {
  const wantPerl = process.env.CORRAL_LAUNCHER !== "node" && spawnSync("perl", ["-e", "use POSIX; exit 0"]).status === 0;
  return wantPerl ? new PerlLauncher(events) : new NodeLauncher(events);
}
