import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../domain/errors.js";
import { parseTags } from "../../domain/tags.js";
import { redactUrl } from "../../engines/redis/pool.js";
import { redisUrl } from "../../engines/redis/redis.js";
import type { StopAnswer } from "../../engines/redis/redis-calls.js";
import { openOptional } from "../context.js";
import { ageSeconds, c, printJson, table } from "../output.js";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface WorkerFlags {
  redis?: string;
  concurrency?: string;
  tags?: string;
  name?: string;
  heartbeat?: string;
  timeout?: string;
  workDir?: string;
}

/** --redis, else CORRAL_REDIS_URL, else [redis] url of the project here (if any). */
function urlFrom(flag: string | undefined, self: Command): string {
  if (flag) return flag;
  const corral = openOptional(self);
  try {
    const url = redisUrl(corral ? corral.store.dir : null);
    if (url === null) throw new UsageError("no Redis URL: give --redis redis://:password@host:port, or set CORRAL_REDIS_URL");
    return url;
  } finally {
    corral?.close();
  }
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) throw new UsageError(`${flag} '${text}': expected a positive number`);
  return n;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run tasks of the redis engine on this host until stopped (corral workers stop, or Ctrl-C: running tasks finish first)")
    .option("--redis <url>", "the Redis URL (default: CORRAL_REDIS_URL, or [redis] url of the project here)")
    .option("--concurrency <n>", "tasks run at once", String(Math.max(1, os.availableParallelism())))
    .option("--tags <tags>", "what this host offers, e.g. gpu,bigmem: it also runs tasks that ask for these")
    .option("--name <name>", "the worker's name in `corral workers` (default: host-pid)")
    .option("--heartbeat <s>", "seconds between heartbeats", "5")
    .option("--timeout <s>", "silent this long, the worker counts as gone and its tasks run again elsewhere", "30")
    .option("--work-dir <dir>", "where tasks get their run directories here (default: a folder in the temp dir)")
    .action(async (flags: WorkerFlags, self: Command) => {
      const url = urlFrom(flags.redis, self);
      const name = flags.name ?? `${os.hostname()}-${process.pid}`;
      if (!NAME_RE.test(name)) throw new UsageError(`--name '${name}': letters, digits, '.', '-' and '_' (up to 64)`);
      const concurrency = positive(flags.concurrency!, "--concurrency");
      if (!Number.isInteger(concurrency)) throw new UsageError(`--concurrency '${flags.concurrency}': expected a whole number`);
      const heartbeatS = positive(flags.heartbeat!, "--heartbeat");
      const timeoutS = positive(flags.timeout!, "--timeout");
      if (timeoutS < 2 * heartbeatS) throw new UsageError(`--timeout ${timeoutS}: must be at least two heartbeats (${2 * heartbeatS} s)`);
      const tags = flags.tags ? parseTags(flags.tags, "--tags") : [];
      const { PoolWorker } = await import("../../engines/redis/worker/pool-worker.js");
      const worker = new PoolWorker({
        url,
        name,
        concurrency,
        tags,
        heartbeatS,
        timeoutS,
        workDir: path.resolve(flags.workDir ?? path.join(os.tmpdir(), `corral-worker-${name}`)),
        log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      });
      for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, () => worker.drain());
      await worker.run();
    });

  const workers = program.command("workers").description("the redis engine's workers: list (default), stop, launch");
  workers
    .command("list", { isDefault: true })
    .description("every worker registered in Redis: live, draining, or gone (silent past its timeout)")
    .option("--redis <url>", "the Redis URL (default: CORRAL_REDIS_URL, or [redis] url of the project here)")
    .option("--json", "print them as JSON")
    .action(async (flags: { redis?: string; json?: boolean }, self: Command) => {
      const url = urlFrom(flags.redis ?? (self.parent!.opts() as { redis?: string }).redis, self);
      const { redisCall } = await import("../../engines/redis/redis-bridge.js");
      const list = redisCall<import("../../engines/redis/worker-registry.js").WorkerView[]>({ op: "workers", url });
      if (flags.json) return printJson(list);
      if (list.length === 0) return void process.stdout.write(`no workers registered in ${redactUrl(url)} (start one with: corral worker)\n`);
      const rows = list.map((w) => [
        w.name,
        w.live ? w.state : w.state === "stopped" ? "stopped" : "gone",
        w.host,
        String(w.pid),
        w.tags.join(",") || "-",
        `${w.running.length}/${w.concurrency}`,
        w.load.toFixed(2),
        `${ageSeconds(w.silentS)} ago`,
      ]);
      const paint = (cell: string) => (cell === "running" ? c.green(cell) : cell === "gone" ? c.red(cell) : c.yellow(cell));
      process.stdout.write(`${table(["NAME", "STATE", "HOST", "PID", "TAGS", "TASKS", "LOAD", "LAST SEEN"], rows, { 1: paint })}\n`);
    });
  workers
    .command("stop")
    .argument("[names...]", "workers to stop")
    .description("drain workers: they finish their running tasks, take no new ones, and exit")
    .option("--all", "every live worker")
    .option("--redis <url>", "the Redis URL (default: CORRAL_REDIS_URL, or [redis] url of the project here)")
    .action(async (names: string[], flags: { all?: boolean; redis?: string }, self: Command) => {
      if (names.length === 0 && !flags.all) throw new UsageError("name the workers to stop, or give --all");
      if (names.length > 0 && flags.all) throw new UsageError("give worker names or --all, not both");
      const url = urlFrom(flags.redis, self);
      const { redisCall } = await import("../../engines/redis/redis-bridge.js");
      const answer = redisCall<StopAnswer>({ op: "stop", url, names: flags.all ? null : names });
      for (const n of answer.draining) process.stdout.write(`draining ${n}\n`);
      for (const n of answer.asked) process.stdout.write(`asked ${n} to stop: no answer yet (it drains at its next heartbeat)\n`);
      const unknown = names.filter((n) => !answer.draining.includes(n) && !answer.asked.includes(n));
      if (unknown.length > 0) throw new UsageError(`no live worker named ${unknown.join(", ")} (see corral workers)`);
    });
  workers
    .command("launch")
    .argument("<hosts...>", "hosts to start a worker on, over ssh (CORRAL_SSH overrides the ssh command)")
    .description("start a worker on each host over ssh; the command run there is shown (without the password)")
    .option("--concurrency <n>", "tasks each worker runs at once (default: the host's CPUs)")
    .option("--tags <tags>", "what these hosts offer, e.g. gpu")
    .option("--redis <url>", "the Redis URL the workers use (default: CORRAL_REDIS_URL, or [redis] url of the project here)")
    .option("--corral <command>", "how to run corral on the hosts (default: this corral's node and path)")
    .action(async (hosts: string[], flags: { concurrency?: string; tags?: string; redis?: string; corral?: string }, self: Command) => {
      const url = urlFrom(flags.redis, self);
      if (flags.concurrency !== undefined) positive(flags.concurrency, "--concurrency");
      if (flags.tags !== undefined) parseTags(flags.tags, "--tags");
      const { launchWorkers } = await import("../../engines/redis/launch.js");
      const failed = await launchWorkers(hosts, { url, concurrency: flags.concurrency ?? null, tags: flags.tags ?? null, corral: flags.corral ?? null });
      if (failed > 0) throw new UsageError(`${failed} of ${hosts.length} hosts did not start a worker`);
    });
}
