import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import readline from "node:readline";
import type { AttemptUsage } from "../../domain/usage.js";
import type { ClaimedScript } from "../../protocol/wrapper.js";

/** What a launcher reports back about the wrappers it starts. */
export interface LaunchEvents {
  started(attemptId: number, pid: number): void;
  /** Its wrapper was reaped; `usage`: what it used, as wait4(2) tells (null without it). */
  exited(attemptId: number, usage: AttemptUsage | null): void;
  failed(attemptId: number, why: string): void;
  /** An attempt queued in a lane was taken out before it started (Launcher.withdraw): it never ran. */
  withdrawn?(attemptId: number): void;
  /** The launcher itself died: the attempts it started are no longer watched by it. */
  lost(): void;
}

/** Starts attempt wrapper scripts, each in a session of its own, with default signal handling. */
export interface Launcher {
  readonly kind: string;
  /** CPU seconds used by the launcher itself and by the wrappers it reaped (Linux), for the supervisor's log. */
  cpu(): { own: number; children: number } | null;
  /** Starts `/bin/sh WRAPPERPATH`; the wrapper claims the attempt and publishes `started` itself. */
  launch(attemptId: number, wrapperPath: string): void;
  /**
   * Where the launcher can claim attempts itself: creates `runDir` (and its parents), claims the attempt by
   * creating its `started` marker, forks, writes the marker for the forked process (pid, start time, host), and
   * that process execs sh running the launch's script, a wrapper rendered with `startedBy: "launcher"` (handed
   * over in the environment variable CORRAL_WRAPPER, never on a command line), with the launch's variables as
   * its environment. A claim lost to a fence starts a process that
   * exits at once, having run nothing; a run directory or claim that cannot be made fails the launch.
   */
  launchClaimed?(attemptId: number, runDir: string, launch: ClaimedScript, lane?: number): void;
  /**
   * With launchClaimed: the same launch, started by the launcher itself the moment the process it started in
   * `lane` (an attempt's id, given to launchClaimed) is reaped, or at once if that process is gone already. The
   * lane's share of the machine passes from attempt to attempt without a round trip to the supervisor.
   */
  queueClaimed?(attemptId: number, runDir: string, launch: ClaimedScript, lane: number): void;
  /** Takes an attempt queued by queueClaimed out of its lane if it has not started yet (then `withdrawn` follows). */
  withdraw?(attemptId: number): void;
  close(): void;
}

/**
 * A small resident Perl process forks the wrappers. Forking the supervisor itself (tens of MB of Node) for
 * every attempt costs milliseconds of kernel time and page faults afterwards; forking a tiny process costs
 * next to nothing. Perl (perl-base is Essential on Debian) is used because a POSIX shell cannot put a child
 * in its own session without leaving SIGINT/SIGQUIT ignored in it, nor report which child exited.
 *
 * It also does the wrapper's first steps itself: the run directory and the claim before it forks, the `started`
 * marker for the child's pid after (one read of /proc/PID/stat, where sh needs one read(2) per byte), so the
 * supervisor writes no file per attempt, the child only execs, and sh starts at the command.
 *
 * Protocol, in: `ID PATH` (run the wrapper file), or `C ID DIRBYTES SCRIPTBYTES ENVBYTES [LANE]` followed by that
 * many bytes of run directory, of script and of variables (NAME=VALUE, each ended by a NUL): claim, then sh runs
 * SCRIPT, handed over in its environment as CORRAL_WRAPPER beside the variables; or `Q ID DIRBYTES SCRIPTBYTES
 * ENVBYTES LANE` and its bytes: the same, once lane LANE's process is reaped (at once if it is
 * gone), or `W ID`: take that attempt out of its lane if it still waits there. Out, one line each: `S ID PID`
 * (started), `D PID` (reaped), `E ID REASON` (could not start), `R ID` (taken out of its lane, never started).
 */
const PERL_LAUNCHER = String.raw`
use strict; use warnings; use POSIX ();
$| = 1;
binmode STDIN; binmode STDOUT;
# wait4(2) tells what a reaped wrapper used with all it waited for; Perl's waitpid does not. Its number is known
# here for the common Linux machines; elsewhere it comes from syscall.ph (Debian's perl has it), whose thousands
# of constants double the launcher's private memory, and so what each fork copies and faults in: 0.3-0.4 ms of an
# attempt. Without either the launcher still works, and its D lines carry no usage. CORRAL_USAGE=off (its
# argument 'off') leaves usage out, to measure what recording it costs.
use Config ();
my $sys_wait4 = ($ARGV[0] // '') eq 'off' ? undef
  : $^O eq 'linux' && $Config::Config{archname} =~ /^x86_64-linux(?!.*x32)/ ? 61
  : $^O eq 'linux' && $Config::Config{archname} =~ /^(?:aarch64|riscv64)-linux/ ? 260
  : eval { no strict; no warnings; require 'syscall.ph'; defined &SYS_wait4 ? &SYS_wait4() : undef };
my $have_wait4 = defined $sys_wait4 ? 1 : 0;
my %dir_of;
# What a reaped wrapper used, for its D line: the tree's CPU seconds and the largest process's peak in KB. A child
# that lost the claim (the started marker names another process) never ran the attempt: its figures belong to nobody.
sub usage_of { my ($pid, $dir, $ru) = @_;
  if (!-e "$dir/ended") { my $mine = 0;
    if (open(my $st, '<', "$dir/started")) { local $/; my $t = <$st> // ''; close($st); $mine = index("\n$t", "\npid=$pid\n") >= 0; }
    return '' unless $mine; }
  my @f = unpack('l!18', $ru);
  return sprintf(' %.6f %d', $f[0] + $f[1] / 1e6 + $f[2] + $f[3] / 1e6, $f[4]); }
# Lanes: a lane is the share of the machine one attempt holds. An attempt queued in a lane (Q) starts the
# moment the lane's process is reaped, without waiting for the supervisor, which tops the lanes up in batches.
my (%lane_of, %busy, %waiting);
# Perl runs a signal's handler between any two operations, so one that reaped and started children in the middle
# of the main loop's work on the lanes would undo it. All work on the tables is done inside exclusive(): a SIGCHLD
# that comes meanwhile only notes that children wait, and exclusive() reaps them before it returns.
my ($inside, $missed) = (0, 0);
sub exclusive { my ($work) = @_;
  $inside = 1; $work->();
  while ($missed) { $missed = 0; reap(); }
  $inside = 0;
  exclusive(sub {}) if $missed; }
# A handler also runs in a child forked while its signal was pending (Perl defers handlers to a safe point): there it
# does nothing, least of all set an alarm, which would survive the exec and kill the job a second later.
my $launcher_pid = $$;
$SIG{CHLD} = sub { return if $$ != $launcher_pid; if ($inside) { $missed = 1; } else { exclusive(\&reap); } };
# A net under SIGCHLD: every second, whatever has exited is reaped even if its signal was missed (seen once in
# many thousand attempts, the launcher asleep in read(2) beside two unreaped children).
$SIG{ALRM} = sub { return if $$ != $launcher_pid; alarm(1); if ($inside) { $missed = 1; } else { exclusive(\&reap); } };
alarm(1);
sub reap { for (;;) {
  my ($pid, $ru);
  if ($have_wait4) { my $st = pack('i', 0); $ru = "\0" x 256; $pid = syscall($sys_wait4, -1, $st, POSIX::WNOHANG(), $ru); }
  else { $pid = waitpid(-1, POSIX::WNOHANG()); }
  last if $pid <= 0;
  my $dir = delete $dir_of{$pid};
  my $usage = defined $dir && defined $ru ? usage_of($pid, $dir, $ru) : '';
  print "D $pid$usage
";
  my $lane = delete $lane_of{$pid};
  next unless defined $lane;
  delete $busy{$lane};
  my $next = shift @{$waiting{$lane} // []};
  if (defined $next) { start(@$next); } else { delete $waiting{$lane}; } } }
sub take { my ($n) = @_; my $buf = '';
  while (length($buf) < $n) { my $got = read(STDIN, $buf, $n - length($buf), length($buf));
    if (!defined $got) { next if $!{EINTR}; return undef; } return undef if $got == 0; }
  return $buf; }
# mkdir -p, down from at most $depth levels above: an attempt queued in a lane makes its task's folder but never
# its job's, so a job removed meanwhile (its folder with it) runs nothing.
sub mkdirs { my ($d, $depth) = @_; return 1 if mkdir($d, 0700) || $!{EEXIST}; return 0 unless $!{ENOENT} && $depth > 0;
  my ($up) = $d =~ m{^(.+)/[^/]+$}; return 0 unless defined $up && mkdirs($up, $depth - 1); return mkdir($d, 0700) || $!{EEXIST}; }
# The forked child does as little as it can before its exec: each page it touches after fork is copied, and
# copying Perl's pages was the largest cost of a short attempt. So the run directory and the claim are made here,
# before the fork, and the started marker is written here after it, for the child's pid; the child only takes
# its session, its signal mask and its standard files, and execs sh.
umask(077);
# The launcher's own environment, which each attempt's variables override.
my %base_env = %ENV;
# What a child gets as stdin, stdout and stderr, by dup2 (no path to look up in each child).
open(my $null, '+<', '/dev/null') or die "launcher: cannot open /dev/null: $!";
# Signals: none is ignored or handled in a child. CHLD's and ALRM's handlers end at exec; the rest are at their
# defaults here, so the child need not reset each.
$SIG{$_} = 'DEFAULT' for qw(INT QUIT TERM HUP PIPE USR1 USR2 XCPU);
# An attempt that cannot start: what waits in its lane would fail the same way now, so it goes back to the
# supervisor, never started.
sub not_started { my ($id, $why, $lane) = @_;
  print "E $id $why
";
  if (defined $lane) { print "R $_->[0]
" for @{delete $waiting{$lane} // []}; } }
sub start { my ($id, $path, $dir, $script, $lane, $queued) = @_;
  my $claim;
  if (defined $dir) {
    return not_started($id, "cannot create the run directory $dir: $!", $lane) unless mkdirs($dir, $queued ? 1 : 64);
    # The claim: whoever creates started first owns the attempt (a fence by corral, say); the loser runs nothing.
    if (!sysopen($claim, "$dir/started", POSIX::O_WRONLY() | POSIX::O_CREAT() | POSIX::O_EXCL(), 0600)) {
      return not_started($id, "cannot create $dir/started: $!", $lane) unless $!{EEXIST};
      undef $claim; }
    # The script and the job's variables are the environment sh is exec'd with, readable by its owner only: a
    # command line would show them to every user of the machine. Set before the fork, so the child need not.
    my ($text, $vars) = @$script;
    %ENV = (%base_env, (map { split(/=/, $_, 2) } split(/\0/, $vars)), CORRAL_WRAPPER => $text);
  } else { %ENV = %base_env; }
  # The child waits at this gate until its started marker is written, so that it never runs without one: a
  # launcher killed in between leaves a claim with no marker, and a child that then exits having run nothing.
  my ($gate_in, $gate_out);
  if (defined $claim && !pipe($gate_in, $gate_out)) { my $why = "pipe failed: $!"; unlink("$dir/started"); return not_started($id, $why, $lane); }
  my $pid = fork();
  if (!defined $pid) { my $why = "fork failed: $!"; unlink("$dir/started") if defined $claim; return not_started($id, $why, $lane); }
  if ($pid == 0) {
    # A claim lost: exit at once, reaped and reported like any other, having run nothing.
    POSIX::_exit(0) if defined $dir && !defined $claim;
    POSIX::setsid();
    # Forked from within a signal handler, Perl blocks that signal meanwhile: the attempt must not inherit it.
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
    POSIX::dup2(fileno($null), $_) for 0, 1, 2;
    if (defined $claim) {
      close($gate_out);
      my ($go, $got) = ('');
      do { $got = sysread($gate_in, $go, 1); } while (!defined $got && $!{EINTR});
      POSIX::_exit(0) unless $go eq 'g';
      exec {'/bin/sh'} 'sh', '-c', 'eval "$CORRAL_WRAPPER"' or POSIX::_exit(127);
    }
    exec('/bin/sh', $path) or POSIX::_exit(127);
  }
  if (defined $claim) {
    close($gate_in);
    # The child's start time is the same before and after its exec, and readable until it is reaped, which
    # cannot happen before this (inside exclusive()).
    my $stat = ''; if (open(my $st, '<', "/proc/$pid/stat")) { sysread($st, $stat, 4096); close($st); }
    my $pstart = ''; if ($stat =~ /^.*\)\s+(.*)$/s) { my @f = split(/ /, $1); $pstart = $f[19] // ''; }
    my $host = (POSIX::uname())[1];
    syswrite($claim, "pid=$pid
pstart=$pstart
host=$host
end
"); close($claim);
    syswrite($gate_out, 'g'); close($gate_out);
  }
  # Its run directory, to tell a claim it lost (a worker's wrapper file is in it). Always inside exclusive(), so no
  # reap can come before this.
  $dir_of{$pid} = defined $dir ? $dir : ($path =~ m{^(.*)/[^/]+$})[0];
  if (defined $lane) { $lane_of{$pid} = $lane; $busy{$lane} = $pid; }
  print "S $id $pid
";
}
for (;;) {
  my $line = <STDIN>;
  if (!defined $line) { last unless $!{EINTR}; next; }
  chomp $line;
  if ($line =~ /^([CQ]) (\d+) (\d+) (\d+) (\d+)(?: (\d+))?$/) {
    my ($kind, $id, $lane) = ($1, $2, $6);
    my $dir = take($3); my $script = take($4); my $env = take($5);
    last unless defined $dir && defined $script && defined $env;
    exclusive(sub {
      # A lane whose process is gone already (the supervisor has not heard yet) takes its next attempt at once.
      if ($kind eq 'Q' && $busy{$lane}) { push @{$waiting{$lane}}, [$id, undef, $dir, [$script, $env], $lane, 1]; }
      else { start($id, undef, $dir, [$script, $env], $lane, $kind eq 'Q'); } });
  } elsif ($line =~ /^W (\d+)$/) {
    my $id = $1;
    exclusive(sub {
      for my $list (values %waiting) {
        my $at = (grep { $list->[$_][0] == $id } 0 .. $#$list)[0];
        next unless defined $at;
        splice(@$list, $at, 1);
        print "R $id
";
        last;
      } });
  } else {
    my ($id, $path) = split(/ /, $line, 2);
    exclusive(sub { start($id, $path, undef, undef, undef, 0); });
  }
}
`;

/** A `D PID CPU MAXRSS_KB` line's figures (wait4: the tree's CPU, the largest process's peak), or null. */
function usageOfReap(fields: readonly string[]): AttemptUsage | null {
  if (fields.length < 2) return null;
  const cpuS = Number(fields[0]);
  const rssKb = Number(fields[1]);
  return {
    cpuS: Number.isFinite(cpuS) ? cpuS : null,
    maxRssMb: Number.isFinite(rssKb) && rssKb > 0 ? Math.round((rssKb / 1024) * 10) / 10 : null,
    allocCpus: null,
    allocMemMb: null,
    allocTimeS: null,
    source: "wait4",
  };
}

class PerlLauncher implements Launcher {
  readonly kind = "perl";
  private readonly proc: ChildProcess;
  private readonly byPid = new Map<number, number>();
  private readonly earlyExits = new Map<number, AttemptUsage | null>();
  private closed = false;

  constructor(private readonly events: LaunchEvents) {
    this.proc = spawn("perl", ["-e", PERL_LAUNCHER, process.env.CORRAL_USAGE === "off" ? "off" : "on"], {
      detached: true,
      stdio: ["pipe", "pipe", "inherit"],
      env: { PATH: "/usr/bin:/bin" },
    });
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
      const early = this.earlyExits.get(pid);
      if (early !== undefined) {
        this.earlyExits.delete(pid);
        this.events.exited(id, early);
      } else this.byPid.set(pid, id);
    } else if (kind === "D") {
      const pid = Number(a);
      const usage = usageOfReap(rest);
      const id = this.byPid.get(pid);
      if (id === undefined) this.earlyExits.set(pid, usage);
      else {
        this.byPid.delete(pid);
        this.events.exited(id, usage);
      }
    } else if (kind === "E") {
      this.events.failed(Number(a), rest.join(" "));
    } else if (kind === "R") {
      this.events.withdrawn?.(Number(a));
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

  launchClaimed(attemptId: number, runDir: string, launch: ClaimedScript, lane?: number): void {
    this.send("C", attemptId, runDir, launch, lane);
  }

  queueClaimed(attemptId: number, runDir: string, launch: ClaimedScript, lane: number): void {
    this.send("Q", attemptId, runDir, launch, lane);
  }

  withdraw(attemptId: number): void {
    this.proc.stdin!.write(`W ${attemptId}\n`);
  }

  private send(kind: "C" | "Q", attemptId: number, runDir: string, launch: ClaimedScript, lane: number | undefined): void {
    const dir = Buffer.from(runDir);
    const text = Buffer.from(launch.script);
    // NAME=VALUE, each ended by a NUL: neither can hold one (names are sh names, values come from environments).
    const env = Buffer.from(
      Object.entries(launch.env)
        .map(([k, v]) => `${k}=${v}\0`)
        .join(""),
    );
    const head = `${kind} ${attemptId} ${dir.length} ${text.length} ${env.length}${lane === undefined ? "" : ` ${lane}`}\n`;
    this.proc.stdin!.write(Buffer.concat([Buffer.from(head), dir, text, env]));
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
      this.events.exited(attemptId, null);
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
