import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttemptLaunch } from "../../lifecycle/attempt-files.js";
import { random } from "../../testing/random.js";
import { landLaunch, sharedEnvironment, shipLaunch, wholeLaunch, type TaskPayload } from "./task-payload.js";

test("a launch shipped without its inherited variables lands with exactly the environment it had", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const pick = random(seed);
    const inherited: Record<string, string> = {};
    for (let i = pick(30); i > 0; i--) inherited[`V${pick(40)}`] = `v${pick(3)}`;
    // The launch starts from the inherited variables, then some are overridden and some added (as attemptLaunch does).
    const env: Record<string, string> = { ...inherited };
    for (let i = pick(8); i > 0; i--) env[`V${pick(50)}`] = `own${pick(3)}`;
    const launch: AttemptLaunch = { cwd: "/w", argv: ["run", String(seed)], script: null, env, info: { seed }, umask: 0o22 };
    const shared = sharedEnvironment(inherited);
    const shipped = shipLaunch(launch, inherited, shared.key);
    for (const [k, v] of Object.entries(shipped.ownEnv)) assert.notEqual(inherited[k], v, `seed ${seed}: ${k} travels only if it differs`);
    const task: TaskPayload = { project: "p", job: 1, index: 1, attempt: 1, name: "n", timeLimitS: null, launch: shipped };
    const travelled = JSON.parse(JSON.stringify(task)) as TaskPayload;
    assert.equal(wholeLaunch(travelled), null, "today's task does not carry its whole environment");
    assert.deepEqual(landLaunch(travelled.launch, JSON.parse(shared.text) as Record<string, string>), launch, `seed ${seed}`);
  }
});

test("jobs submitted from the same shell share one environment key; another environment gets another", () => {
  const a = sharedEnvironment({ HOME: "/home/a", PATH: "/bin" });
  assert.equal(sharedEnvironment({ HOME: "/home/a", PATH: "/bin" }).key, a.key);
  assert.notEqual(sharedEnvironment({ HOME: "/home/b", PATH: "/bin" }).key, a.key);
  assert.match(a.key, /^corral:env:[0-9a-f]{32}$/);
});

test("a task an older corral queued, with its whole environment inside, runs as it is", () => {
  const launch: AttemptLaunch = { cwd: "/w", argv: ["run"], script: null, env: { HOME: "/h", CORRAL_TASK_ID: "3" }, info: {}, umask: 0o22 };
  const old = { project: "p", job: 1, index: 3, attempt: 1, name: "n", timeLimitS: null, launch } as unknown as TaskPayload;
  assert.deepEqual(wholeLaunch(old), launch);
});
