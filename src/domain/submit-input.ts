import type { RetryCause } from "./job.js";
import type { Point } from "./params.js";

/** What a caller gives to submit a job; strings are parsed exactly as the CLI flags are. */
export interface SubmitInput {
  /** The command and its arguments, kept byte for byte. With `script`, the script's arguments. */
  readonly command?: readonly string[];
  /** A script file to run; its content is copied now, as sbatch does. */
  readonly script?: string;
  readonly name?: string;
  readonly batch?: string;
  readonly cwd?: string;
  /** Extra variables (`--env K=V`), as an object or as `K=V` strings. */
  readonly env?: Readonly<Record<string, string>> | readonly string[];
  /** The environment the job inherits; defaults to this process's (as sbatch exports the submitting shell's). */
  readonly inheritEnv?: NodeJS.ProcessEnv;
  readonly cpus?: number | string;
  readonly mem?: number | string;
  readonly time?: number | string;
  readonly gpus?: number | string;
  readonly queue?: string;
  readonly engine?: string;
  /** Scheduler arguments passed through untouched (`--sched-arg '--constraint=avx2'`). */
  readonly schedArgs?: readonly string[];
  /** Worker tags the tasks need, on the Redis engine: "gpu,bigmem" or a list. */
  readonly tags?: string | readonly string[];
  readonly array?: string;
  readonly after?: readonly (number | string)[];
  readonly afterAny?: readonly (number | string)[];
  readonly retries?: number | string;
  readonly stderrFails?: boolean;
  readonly hold?: boolean;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly umask?: number;
  /** Which failures are retried (default: failed, timeout, oom; lost only when asked). */
  readonly retryOn?: readonly RetryCause[];
  /** Factors for the next attempt's time after a TIMEOUT and memory after an OOM (default 2 and 1.5). */
  readonly escalate?: { readonly time?: number; readonly mem?: number };
  /** Higher runs first within a batch (see corral run); above 100, before every other batch. */
  readonly priority?: number;
  /** A sweep: one task per point, its parameters filling `{name}` in the command and set as variables. */
  readonly points?: readonly Point[];
  /** Jobs of the priority group before this one, which must all succeed first. */
  readonly afterGroup?: readonly number[];
  /** The definition hash `corral run` compares on a second run. */
  readonly defHash?: string;
}
