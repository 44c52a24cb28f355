import { useState } from "preact/hooks";
import { Actions, ErrorLine, Pager, StateBadge, StateBar, TableHead } from "../components.js";
import { duration, elapsed, LIFECYCLE, megabytes, memoryText } from "../format.js";
import { useLiveJson } from "../live.js";
import { go, href, type Route } from "../router.js";
import type { Attempt, JobHeader, Task } from "../types.js";
import { TaskGrid } from "./task-grid.js";
import { coreSharePercent } from "../../../domain/usage.js";

const TASK_PAGE = 25;
const ATTEMPT_COLUMNS = ["Attempt", "State", "Exit", "Reason", "Host", "Engine id", "Started", "Ran", "CPU", "Peak memory", "Measured by", "Logs"];

/** A job: command, environment, resources, dependencies, its tasks (a grid for an array) and every attempt. */
export function JobView({ id, route }: { id: number; route: Route }) {
  const { data: job, error } = useLiveJson<JobHeader>(`/api/jobs/${id}`);
  const stateFilter = route.query.get("state") ?? "";
  const offset = Number(route.query.get("offset") ?? 0);
  const openTask = route.query.get("task");
  if (error && (!job || error.status === 404)) return <ErrorLine message={error.message} />;
  if (!job) return <p class="loading">Loading…</p>;
  const r = job.resources;
  const nav = (over: Record<string, string | number | undefined>) => go(`job/${id}`, { state: stateFilter, offset, task: openTask ?? undefined, ...over });
  return (
    <section aria-labelledby="job-title">
      <h1 id="job-title">
        Job {job.id} <span class="name">{job.name}</span> <StateBadge state={job.state} />
        {job.exitCode ? <span class="muted"> exit {job.exitCode}</span> : null}
      </h1>
      <Actions
        targets={[String(job.id)]}
        what={`job ${job.id} (${job.name})`}
        verbs={job.held ? ["release", "cancel", "mark", "delete"] : ["cancel", "resubmit", "mark", "delete"]}
      />
      <dl class="facts">
        <dt>Command</dt>
        <dd>
          <code class="block">{job.command}</code>
        </dd>
        {job.script && (
          <>
            <dt>Script</dt>
            <dd>{job.script} (copied at submission)</dd>
          </>
        )}
        <dt>Folder</dt>
        <dd>
          <code>{job.cwd}</code>
        </dd>
        <dt>Engine</dt>
        <dd>
          {job.engine}
          {job.batch ? ` · batch ${job.batch}` : ""}
          {job.array ? ` · array ${job.array}` : ""}
        </dd>
        <dt>Resources</dt>
        <dd>
          {r.cpus} cpu{r.cpus === 1 ? "" : "s"}, memory {megabytes(r.memMb)}, time {r.timeLimitS === null ? "-" : duration(r.timeLimitS)}, {r.gpus} gpu
          {r.gpus === 1 ? "" : "s"}
          {r.queue ? `, queue ${r.queue}` : ""}
        </dd>
        <dt>Environment</dt>
        <dd>
          {Object.keys(job.env).length === 0 ? (
            "-"
          ) : (
            <ul class="env">
              {Object.entries(job.env).map(([k, v]) => (
                <li key={k}>
                  <code>
                    {k}={v}
                  </code>
                </li>
              ))}
            </ul>
          )}{" "}
          <span class="muted">(+ {job.inheritedEnvCount} inherited from the submitting shell)</span>
        </dd>
        {job.dependencies.length > 0 && (
          <>
            <dt>After</dt>
            <dd>
              {job.dependencies.map((d, i) => (
                <span key={d.id}>
                  {i > 0 ? ", " : ""}
                  <a href={href(`job/${d.id}`)}>{d.id}</a>
                  {d.kind === "ok" ? "" : ` (${d.kind})`}
                </span>
              ))}
            </dd>
          </>
        )}
        {job.retries > 0 && (
          <>
            <dt>Retries</dt>
            <dd>{job.retries}</dd>
          </>
        )}
        {job.held && (
          <>
            <dt>Held</dt>
            <dd>yes (release it to let it run)</dd>
          </>
        )}
        {Object.keys(job.metadata).length > 0 && (
          <>
            <dt>Metadata</dt>
            <dd>
              {Object.entries(job.metadata)
                .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
                .join(" ")}
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{new Date(job.createdAt).toLocaleString()}</dd>
      </dl>
      <h2>Tasks</h2>
      <StateBar counts={job.tasks as unknown as Record<string, number>} total={job.tasks.total} label="tasks by state" />
      {job.tasks.total > 1 && <Grid jobId={id} onOpen={(i) => nav({ task: i })} />}
      {openTask !== null && <OneTask jobId={id} index={Number(openTask)} array={job.array !== null} onClose={() => nav({ task: undefined })} />}
      <TaskList
        jobId={id}
        array={job.array !== null || job.tasks.total > 1}
        state={stateFilter}
        offset={offset}
        onState={(s) => nav({ state: s, offset: 0 })}
        onPage={(o) => nav({ offset: o })}
      />
    </section>
  );
}

function Grid({ jobId, onOpen }: { jobId: number; onOpen: (i: number) => void }) {
  const { data, error } = useLiveJson<{ index: number[]; state: string[]; total: number }>(`/api/jobs/${jobId}/grid`);
  if (error) return <ErrorLine message={error.message} />;
  if (!data) return <p class="loading">Loading the task grid…</p>;
  return <TaskGrid index={data.index} state={data.state} total={data.total} onOpen={onOpen} />;
}

function OneTask({ jobId, index, array, onClose }: { jobId: number; index: number; array: boolean; onClose: () => void }) {
  const { data, error } = useLiveJson<{ total: number; tasks: Task[] }>(`/api/jobs/${jobId}/tasks?offset=0&limit=1&index=${index}`);
  const task = data?.tasks.find((t) => t.index === index);
  return (
    <article class="one-task" aria-label={`task ${jobId}.${index}`}>
      <button type="button" class="close" onClick={onClose} aria-label="close this task">
        ×
      </button>
      {error && <ErrorLine message={error.message} />}
      {data && !task && (
        <p>
          Job {jobId} has no task {index}.
        </p>
      )}
      {task && <TaskBlock jobId={jobId} task={task} array={array} />}
    </article>
  );
}

function TaskList({
  jobId,
  array,
  state,
  offset,
  onState,
  onPage,
}: {
  jobId: number;
  array: boolean;
  state: string;
  offset: number;
  onState: (s: string) => void;
  onPage: (o: number) => void;
}) {
  const { data, error } = useLiveJson<{ total: number; tasks: Task[] }>(`/api/jobs/${jobId}/tasks?offset=${offset}&limit=${TASK_PAGE}&state=${state}`);
  return (
    <div class="tasks">
      {array && (
        <div class="toolbar">
          <label>
            Show{" "}
            <select value={state} onChange={(e) => onState(e.currentTarget.value)}>
              <option value="">every task</option>
              {LIFECYCLE.map((s) => (
                <option key={s} value={s}>
                  {s} tasks
                </option>
              ))}
            </select>
          </label>
          {data && <Pager offset={offset} limit={TASK_PAGE} total={data.total} onPage={onPage} />}
        </div>
      )}
      {error && <ErrorLine message={error.message} />}
      {data?.tasks.map((t) => (
        <TaskBlock key={t.index} jobId={jobId} task={t} array={array} />
      ))}
    </div>
  );
}

function TaskBlock({ jobId, task, array }: { jobId: number; task: Task; array: boolean }) {
  const ref = `${jobId}.${task.index}`;
  const [open, setOpen] = useState(true);
  return (
    <section class="task" data-task={ref} data-state={task.state} aria-label={`task ${ref}`}>
      <h3>
        <button type="button" class="disclosure" aria-expanded={open} onClick={() => setOpen(!open)}>
          {array ? `Task ${ref}` : "Task"}
        </button>{" "}
        <StateBadge state={task.state} />
        {task.label && <span class="muted"> ({task.lifecycleState})</span>}
        {task.exitCode !== null ? ` exit ${task.exitCode}` : task.signal ? ` signal ${task.signal}` : ""}
        {task.reason && task.reason !== `exit code ${task.exitCode}` && <span class="reason"> — {task.reason}</span>}
        {task.params && (
          <span class="params">
            {" "}
            [
            {Object.entries(task.params)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join(" ")}
            ]
          </span>
        )}
      </h3>
      {array && <Actions targets={[ref]} what={`task ${ref}`} verbs={["cancel", "resubmit", "mark"]} />}
      {open && task.attempts.length > 0 && (
        <div class="table-wrap">
          <table class="attempts">
            <TableHead columns={ATTEMPT_COLUMNS} />
            <tbody>
              {task.attempts.map((a) => (
                <AttemptRow key={a.n} jobId={jobId} index={task.index} a={a} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && task.attempts.length === 0 && <p class="muted">No attempt yet.</p>}
    </section>
  );
}

/** CPU time, and as `corral show` says it, how much of one core that kept busy; "unknown" until measured, never 0. */
function cpuText(a: Attempt): string {
  const cpu = a.usage.cpuS;
  if (cpu === null) return "unknown";
  const share = coreSharePercent(cpu, a.startedAt, a.endedAt);
  return `${cpu.toFixed(1)} s${share === null ? "" : ` (${share}% of one core)`}`;
}

/** One attempt: why it ended, where, when, what it used, and links to its output. */
function AttemptRow({ jobId, index, a }: { jobId: number; index: number; a: Attempt }) {
  return (
    <tr data-attempt={a.n} data-state={a.state}>
      <td>{a.n}</td>
      <td>
        <StateBadge state={a.state} />
      </td>
      <td>{a.exitCode !== null ? a.exitCode : (a.signal ?? "")}</td>
      <td>{a.reason && a.reason !== `exit code ${a.exitCode}` ? a.reason : ""}</td>
      <td>{a.host ?? ""}</td>
      <td>{a.engineId ? `${a.engine} ${a.engineId}` : a.engine}</td>
      <td title={a.startedAt ?? ""}>{a.startedAt ? new Date(a.startedAt).toLocaleTimeString() : ""}</td>
      <td>{elapsed(a.startedAt, a.endedAt)}</td>
      <td class="usage" data-usage="cpu">
        {cpuText(a)}
      </td>
      <td class="usage" data-usage="memory">
        {a.usage.maxRssMb === null ? "unknown" : memoryText(a.usage.maxRssMb)}
      </td>
      <td class="usage" data-usage="source">
        {a.usage.source ?? "unknown"}
      </td>
      <td class="links">
        <a href={href(`logs/${jobId}/${index}/${a.n}`, { stream: "stdout" })}>stdout</a>{" "}
        <a href={href(`logs/${jobId}/${index}/${a.n}`, { stream: "stderr" })}>stderr</a>
      </td>
    </tr>
  );
}
