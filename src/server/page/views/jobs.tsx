import { useEffect, useState } from "preact/hooks";
import { Actions, ErrorLine, Pager, StateBadge } from "../components.js";
import { ago, colorOf } from "../format.js";
import { useLiveJson } from "../live.js";
import { go, href, type Route } from "../router.js";
import type { JobSummary } from "../types.js";
import { NoDatabase } from "./overview.js";

const COLUMNS = [
  ["id", "ID"],
  ["name", "Name"],
  ["batch", "Batch"],
  ["state", "State"],
  ["tasks", "Tasks"],
  ["engine", "Engine"],
  ["created", "Created"],
] as const;
const PAGE = 50;

/** Every job, a page at a time, sorted and filtered by the server with the CLI's filter language. */
export function JobsView({ route }: { route: Route }) {
  const q = route.query.get("q") ?? "";
  const sort = route.query.get("sort") ?? "id";
  const desc = route.query.get("desc") ?? (route.query.has("sort") ? "0" : "1");
  const offset = Number(route.query.get("offset") ?? 0);
  const [text, setText] = useState(q);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  useEffect(() => setText(q), [q]);
  useEffect(() => setSelected(new Set()), [q]);
  const url = `/api/jobs?${new URLSearchParams({ q, sort, desc, offset: String(offset), limit: String(PAGE) })}`;
  const { data, error } = useLiveJson<{ total: number; rows: JobSummary[] }>(url);
  const nav = (over: Record<string, string | number | undefined>) => go("jobs", { q, sort, desc, offset, ...over });
  if (error?.noDatabase) return <NoDatabase path={error.message.replace(/^no corral database yet at (\S+).*$/, "$1")} />;
  const toggle = (id: number) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  const rows = data?.rows ?? [];
  const allOnPage = rows.length > 0 && rows.every((r) => selected.has(r.id));
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form
        class="filter"
        onSubmit={(e) => {
          e.preventDefault();
          nav({ q: text.trim(), offset: 0 });
        }}
      >
        <label for="filter">Filter</label>
        <input
          id="filter"
          name="filter"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          placeholder="state=failed name~'map*' param.lr>0.01 (or ids: 12 5-9)"
          aria-invalid={error && !error.noDatabase ? "true" : "false"}
          aria-describedby="filter-error"
          spellcheck={false}
          autocomplete="off"
        />
        <button type="submit">Apply</button>
        {q && (
          <button type="button" onClick={() => nav({ q: "", offset: 0 })}>
            Clear
          </button>
        )}
      </form>
      <div id="filter-error">{error && !error.noDatabase && <ErrorLine message={error.message} />}</div>
      <div class="toolbar">
        {data && <Pager offset={offset} limit={PAGE} total={data.total} onPage={(o) => nav({ offset: o })} />}
        {selected.size > 0 ? (
          <Actions
            targets={[...selected].map(String)}
            what={`${selected.size} selected job${selected.size === 1 ? "" : "s"}`}
            onDone={() => setSelected(new Set())}
          />
        ) : (
          q &&
          data &&
          data.total > 0 && (
            <Actions targets={[q]} what={`every job matching ${q} (${data.total.toLocaleString("en-US")})`} verbs={["cancel", "resubmit", "mark"]} />
          )
        )}
      </div>
      <div class="table-wrap">
        <table class="jobs" aria-busy={!data ? "true" : "false"} data-total={data?.total ?? ""}>
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="select every job on this page"
                  checked={allOnPage}
                  onChange={() => setSelected(allOnPage ? new Set() : new Set(rows.map((r) => r.id)))}
                />
              </th>
              {COLUMNS.map(([key, title]) => (
                <th key={key} scope="col" aria-sort={sort === key ? (desc === "1" ? "descending" : "ascending") : "none"}>
                  <button type="button" class="sort" onClick={() => nav({ sort: key, desc: sort === key && desc !== "1" ? "1" : "0", offset: 0 })}>
                    {title}
                    {sort === key ? (desc === "1" ? " ▼" : " ▲") : ""}
                  </button>
                </th>
              ))}
              <th scope="col">Command</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.id} data-job={j.id} data-state={j.state}>
                <td>
                  <input type="checkbox" aria-label={`select job ${j.id}`} checked={selected.has(j.id)} onChange={() => toggle(j.id)} />
                </td>
                <td>
                  <a href={href(`job/${j.id}`)}>{j.id}</a>
                </td>
                <td class="name">{j.name}</td>
                <td>{j.batch ?? ""}</td>
                <td>
                  <StateBadge state={j.state} />
                  {j.exitCode ? <span class="muted"> exit {j.exitCode}</span> : null}
                </td>
                <td>
                  <TaskMeter tasks={j.tasks} />
                </td>
                <td>{j.engine}</td>
                <td title={j.createdAt}>{ago(j.createdAt)}</td>
                <td class="command">
                  <code>{j.command}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {data && data.total === 0 && <p class="muted">{q ? "No job matches this filter." : "No jobs yet."}</p>}
      </div>
    </section>
  );
}

function TaskMeter({ tasks }: { tasks: JobSummary["tasks"] }) {
  const parts = (["succeeded", "failed", "cancelled", "lost", "running", "queued", "pending"] as const).filter((s) => tasks[s] > 0);
  return (
    <span class="meter" title={parts.map((s) => `${s} ${tasks[s]}`).join(", ")}>
      <span class="meter-bar" aria-hidden="true">
        {parts.map((s) => (
          <span key={s} style={{ width: `${(100 * tasks[s]) / Math.max(1, tasks.total)}%`, background: colorOf(s) }} />
        ))}
      </span>
      {tasks.done}/{tasks.total}
    </span>
  );
}
