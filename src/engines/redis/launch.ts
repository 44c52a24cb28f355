import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { shQuote } from "../../protocol/shell-quote.js";
import { redisCall } from "./redis-bridge.js";
import type { WorkerView } from "./worker-registry.js";

export interface LaunchOptions {
  readonly url: string;
  readonly concurrency: string | null;
  readonly tags: string | null;
  /** How to run corral on the hosts; default: this node and this corral's script (same path everywhere). */
  readonly corral: string | null;
}

/** How long a launched worker has to show its first heartbeat. */
const FIRST_BEAT_MS = 20_000;

/**
 * Starts `corral worker` on each host through the system's ssh, in the background there (nohup, log in
 * ~/.corral-workers/NAME.log), and waits for each one's first heartbeat. The Redis URL goes through ssh's
 * standard input, never on a command line (where ps, or this output, would show its password).
 * Returns the number of hosts that did not start one.
 */
export async function launchWorkers(hosts: readonly string[], opts: LaunchOptions): Promise<number> {
  const ssh = (process.env.CORRAL_SSH ?? "ssh -o BatchMode=yes").split(/\s+/).filter(Boolean);
  const corral = opts.corral ?? `${shQuote(process.execPath)} ${shQuote(process.argv[1]!)}`;
  const started: { host: string; name: string }[] = [];
  let failed = 0;
  for (const host of hosts) {
    const name = `${host.replace(/[^A-Za-z0-9._-]/g, "_")}-${randomBytes(3).toString("hex")}`;
    const args = [
      `--name ${shQuote(name)}`,
      ...(opts.concurrency ? [`--concurrency ${shQuote(opts.concurrency)}`] : []),
      ...(opts.tags ? [`--tags ${shQuote(opts.tags)}`] : []),
    ];
    const remote =
      // (Sequenced with ';', not '&&': the trailing '&' would put the whole && list, read included, in the background.)
      `read -r CORRAL_REDIS_URL || exit 1; export CORRAL_REDIS_URL; mkdir -p "$HOME/.corral-workers" || exit 1; ` +
      `nohup ${corral} worker ${args.join(" ")} > "$HOME/.corral-workers/${name}.log" 2>&1 < /dev/null & echo "pid $!"`;
    process.stdout.write(`${host}: ${[...ssh, host].join(" ")} ${shQuote(remote)}   (the Redis URL is sent on standard input)\n`);
    const r = await run(ssh[0]!, [...ssh.slice(1), host, remote], `${opts.url}\n`);
    if (r.code !== 0) {
      process.stdout.write(`${host}: ssh failed (exit ${r.code}): ${r.stderr.trim().split("\n").pop() ?? ""}\n`);
      failed++;
      continue;
    }
    started.push({ host, name });
  }
  const deadline = Date.now() + FIRST_BEAT_MS;
  const pending = new Map(started.map((s) => [s.name, s.host]));
  while (pending.size > 0 && Date.now() < deadline) {
    const seen = redisCall<WorkerView[]>({ op: "workers", url: opts.url });
    for (const w of seen) {
      if (!pending.has(w.name) || !w.live) continue;
      process.stdout.write(
        `${pending.get(w.name)}: worker ${w.name} is live (pid ${w.pid}, concurrency ${w.concurrency}${w.tags.length ? `, tags ${w.tags.join(",")}` : ""})\n`,
      );
      pending.delete(w.name);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  for (const [name, host] of pending)
    process.stdout.write(`${host}: worker ${name} sent no heartbeat within ${FIRST_BEAT_MS / 1000} s (see ~/.corral-workers/${name}.log there)\n`);
  return failed + pending.size;
}

function run(cmd: string, args: string[], input: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => resolve({ code: 127, stderr: err.message }));
    child.on("exit", (code) => resolve({ code: code ?? 255, stderr }));
    child.stdin.end(input);
  });
}
