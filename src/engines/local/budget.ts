import fs from "node:fs";
import os from "node:os";
import { configSection } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import { formatMemory, parseCount, parseMemory, type Resources } from "../../domain/resources.js";

/** What the local engine may use at once on this machine. */
export interface LocalBudget {
  readonly cpus: number;
  readonly memMb: number;
  readonly gpus: readonly string[];
}

/** The machine's GPUs, looked for once per process (a submit loop would otherwise list them per job). */
let detectedGpus: string[] | null = null;
function detectGpus(): string[] {
  if (detectedGpus === null) {
    try {
      detectedGpus = fs.readdirSync("/proc/driver/nvidia/gpus").map((_, i) => String(i));
    } catch {
      detectedGpus = [];
    }
  }
  return [...detectedGpus];
}

/** The machine's size, asked once per process (a loop checking 100,000 submissions would ask per job). */
let machineSize: { cpus: number; memMb: number } | null = null;
function machine(): { cpus: number; memMb: number } {
  machineSize ??= { cpus: os.availableParallelism(), memMb: Math.floor(os.totalmem() / 1024 / 1024) };
  return machineSize;
}

/**
 * The budget: machine defaults, overridden by `[local]` in `.corral/config.toml`, overridden by
 * CORRAL_LOCAL_CPUS / CORRAL_LOCAL_MEM / CORRAL_LOCAL_GPUS (a count, or a list of device ids such as `0,2`).
 */
export function loadLocalBudget(projectDir: string, env: NodeJS.ProcessEnv = process.env): LocalBudget {
  const file = configSection(projectDir, "local");
  const pick = (envName: string, key: string): string | undefined => env[envName] ?? (file[key] === undefined ? undefined : String(file[key]));
  const cpusText = pick("CORRAL_LOCAL_CPUS", "cpus");
  const memText = pick("CORRAL_LOCAL_MEM", "mem");
  const gpusText = pick("CORRAL_LOCAL_GPUS", "gpus");
  const cpus = cpusText === undefined ? machine().cpus : parseCount(cpusText, "local cpus", 1);
  const memMb = memText === undefined ? machine().memMb : parseMemory(memText, "local mem");
  let gpus: string[];
  if (gpusText === undefined) gpus = detectGpus();
  else if (/^\d+$/.test(gpusText)) gpus = Array.from({ length: Number(gpusText) }, (_, i) => String(i));
  else
    gpus = gpusText
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  return { cpus, memMb, gpus };
}

/** Refuses, at submission, a job that could never fit on this machine (as sbatch refuses an impossible request). */
export function checkFits(res: Resources, budget: LocalBudget): void {
  if (res.cpus > budget.cpus)
    throw new UsageError(`--cpus ${res.cpus}: the local engine has ${budget.cpus} cpus (set CORRAL_LOCAL_CPUS or [local] cpus to change)`);
  if (res.memMb !== null && res.memMb > budget.memMb) {
    throw new UsageError(
      `--mem ${formatMemory(res.memMb)}: the local engine has ${formatMemory(budget.memMb)} (set CORRAL_LOCAL_MEM or [local] mem to change)`,
    );
  }
  if (res.gpus > budget.gpus.length)
    throw new UsageError(`--gpus ${res.gpus}: the local engine has ${budget.gpus.length} gpus (set CORRAL_LOCAL_GPUS or [local] gpus to change)`);
}
