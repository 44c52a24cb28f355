import { z } from "zod";

/**
 * The schema of a job description file (TOML or YAML). Checked by zod, strictly: an unknown key is an
 * error (with a suggestion), never ignored. What zod cannot say (exclusive pairs, names, cycles, formats
 * of durations and ranges) is checked by validateDescription.
 */
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** How the next attempt's resources grow after a TIMEOUT or an OUT_OF_MEMORY. */
export const escalateSchema = z.strictObject({ time: z.number().min(1).optional(), mem: z.number().min(1).optional() });

/** Keys a job may take that `[defaults]` may also give. */
export const sharedKeys = {
  engine: z.string().min(1).optional(),
  cpus: z.int().min(1).optional(),
  mem: z.union([z.string(), z.int().min(1)]).optional(),
  time: z.union([z.string(), z.int().min(1)]).optional(),
  gpus: z.int().min(0).optional(),
  queue: z.string().min(1).optional(),
  env: z.record(z.string(), scalar).optional(),
  retries: z.int().min(0).optional(),
  on: z
    .array(z.enum(["failed", "timeout", "oom", "lost"]))
    .min(1)
    .optional(),
  escalate: escalateSchema.optional(),
  priority: z.int().optional(),
  cwd: z.string().min(1).optional(),
  sched_args: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  stderr_fails: z.boolean().optional(),
};

const sweepValue = z.union([
  z.array(scalar).min(1),
  z.string(),
  z.strictObject({ linspace: z.array(z.number()) }),
  z.strictObject({ logspace: z.array(z.number()) }),
]);

export const jobSchema = z.strictObject({
  ...sharedKeys,
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
  script: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  array: z.string().min(1).optional(),
  sweep: z.record(z.string(), sweepValue).optional(),
  sweep_mode: z.enum(["product", "zip"]).optional(),
  after: z.array(z.string()).optional(),
  after_any: z.array(z.string()).optional(),
  hold: z.boolean().optional(),
});

export const defaultsSchema = z.strictObject(sharedKeys);

export const descriptionSchema = z.strictObject({
  batch: z.string().min(1),
  defaults: defaultsSchema.optional(),
  jobs: z.record(z.string(), jobSchema),
});

export type JobEntry = z.infer<typeof jobSchema>;
export type Defaults = z.infer<typeof defaultsSchema>;
export type DescriptionValue = z.infer<typeof descriptionSchema>;

/** What a key expects, in words, for messages about unions and wrong types. */
export const EXPECTED: Readonly<Record<string, string>> = {
  batch: "a string",
  defaults: "a table of defaults",
  jobs: "a table of jobs ([jobs.NAME])",
  engine: 'a string such as "slurm"',
  cpus: "a whole number of at least 1",
  mem: 'a size such as "4G" or a number of megabytes',
  time: 'a duration such as "1:30:00" or "2h", or a number of minutes',
  gpus: "a whole number",
  queue: "a string",
  env: "a table of variables",
  retries: "a whole number",
  on: "a list of failed, timeout, oom, lost",
  escalate: "a table { time = 2, mem = 1.5 }",
  priority: "a whole number",
  cwd: "a directory",
  sched_args: "a list of strings",
  tags: 'a list of worker tags such as ["gpu"] (redis engine)',
  stderr_fails: "true or false",
  command: "a string or a list of strings",
  script: "a file name",
  args: "a list of strings",
  array: 'an array spec such as "1-10:2%4"',
  sweep: "a table of parameters",
  sweep_mode: '"product" or "zip"',
  after: "a list of job names",
  after_any: "a list of job names",
  hold: "true or false",
  "on[]": "one of failed, timeout, oom, lost",
  "after[]": "a job name",
  "after_any[]": "a job name",
  "command[]": "a string",
  "args[]": "a string",
  "sched_args[]": "a string",
  "tags[]": 'a tag such as "gpu"',
};

export const SWEEP_VALUE_EXPECTED = 'a list, a range such as "1..20", or { linspace = [start, stop, count] }';
