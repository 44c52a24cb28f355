import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import { CLI, TestProject } from "../testing/project.js";

const p = new TestProject("corral-spawn-", { CORRAL_LOCAL_CPUS: "2" });
after(() => p.cleanup());
const corral = `'${CLI}'`;

interface Summary {
  id: number;
  name: string;
  batch: string | null;
  state: string;
}

test("a job that spawns 5 jobs: they all run and are listed under its batch", () => {
  const id = p.submit(
    ["--batch", "discover", "-n", "scan"],
    ["sh", "-c", `for i in 1 2 3 4 5; do ${corral} job spawn -n part$i -- sh -c "echo part $i"; done`],
  );
  p.ok(["wait", "--batch", "discover"]);
  const jobs = p.json<Summary[]>(["ls", "--batch", "discover"]);
  assert.deepEqual(
    jobs.map((j) => j.name),
    ["scan", "part1", "part2", "part3", "part4", "part5"],
  );
  assert.ok(jobs.every((j) => j.state === "succeeded"));
  for (const [i, j] of jobs.slice(1).entries()) assert.equal(p.ok(["logs", String(j.id)]), `part ${i + 1}\n`);
  assert.deepEqual(p.json<{ metadata: Record<string, unknown> }>(["show", String(jobs[1]!.id)]).metadata, { spawned_by: id });
});

test("a spawned job can hold back a later job of the batch (--before), which then waits for it", () => {
  const order = p.path("before-order");
  // Held until merge exists: --before names a job that is waiting.
  const a = p.submit(
    ["--batch", "fan", "-n", "split", "--hold"],
    ["sh", "-c", `for i in 1 2; do ${corral} job spawn --before merge -- sh -c "sleep 0.5; echo piece$i >> ${order}"; done`],
  );
  p.submit(["--batch", "fan", "-n", "merge", "--after", String(a)], ["sh", "-c", `echo merge >> ${order}`]);
  p.ok(["release", String(a)]);
  p.ok(["wait", "--batch", "fan"]);
  const lines = fs.readFileSync(order, "utf8").trim().split("\n");
  assert.deepEqual(lines.slice(0, 2).sort(), ["piece1", "piece2"]);
  assert.equal(lines[2], "merge", "merge waited for the pieces spawned before it");
});

test("job info, set and mark work inside a job without opening the database", () => {
  const id = p.submit(["-n", "self"], ["sh", "-c", `${corral} job info; ${corral} job set score=0.93 stage=done; ${corral} job mark collected`]);
  p.ok(["wait", String(id)]);
  const info = JSON.parse(p.ok(["logs", String(id)])) as { job: { id: number; name: string }; task: { index: number } };
  assert.equal(info.job.id, id);
  assert.equal(info.job.name, "self");
  const show = p.json<{ state: string; metadata: Record<string, unknown> }>(["show", String(id)]);
  assert.deepEqual(show.metadata, { score: "0.93", stage: "done" });
  assert.equal(show.state, "collected");
});

test("a job without Node can make the same requests with echo and mv, as the protocol documents", () => {
  const id = p.submit(
    ["--batch", "plain"],
    [
      "sh",
      "-c",
      `mkdir -p "$CORRAL_RUN_DIR/requests" && echo '{"op":"spawn","command":["echo","from sh"],"name":"viaecho"}' > "$CORRAL_RUN_DIR/requests/.1" && mv "$CORRAL_RUN_DIR/requests/.1" "$CORRAL_RUN_DIR/requests/1.json"`,
    ],
  );
  p.ok(["wait", "--batch", "plain"]);
  const jobs = p.json<Summary[]>(["ls", "--batch", "plain"]);
  assert.deepEqual(
    jobs.map((j) => j.name),
    ["sh", "viaecho"],
  );
  assert.equal(p.ok(["logs", String(jobs[1]!.id)]), "from sh\n");
  assert.ok(jobs[0]!.id === id);
});

test("a refused request says why next to itself and is not applied; corral job outside a job is a usage error", () => {
  const id = p.submit(
    [],
    ["sh", "-c", `mkdir -p "$CORRAL_RUN_DIR/requests" && echo '{"op":"spawn","command":[]}' > "$CORRAL_RUN_DIR/requests/1.json"; echo "$CORRAL_RUN_DIR"`],
  );
  p.ok(["wait", String(id)]);
  const runDir = p.ok(["logs", String(id)]).trim();
  p.ok(["ls"]);
  assert.match(fs.readFileSync(`${runDir}/requests/1.json.error`, "utf8"), /spawn needs 'command'/);
  const outside = p.run(["job", "info"], { env: { CORRAL_RUN_DIR: "" } });
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /only inside a job/);
});
