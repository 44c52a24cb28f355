import { ErrorLine, TableHead } from "../components.js";
import { duration } from "../format.js";
import { useLiveJson } from "../live.js";
import type { WorkerView } from "../types.js";

type Answer = { configured: false } | { configured: true; url: string; workers?: WorkerView[]; error?: string };

/** The Redis pool's workers, as `corral workers` lists them; re-read every few seconds (their beats live in Redis). */
export function WorkersView() {
  const { data, error } = useLiveJson<Answer>("/api/workers", 3000);
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      {error && <ErrorLine message={error.message} />}
      {!data && !error && <p class="loading">Asking Redis…</p>}
      {data && !data.configured && (
        <p>
          This project has no Redis pool: set <code>[redis] url</code> in <code>.corral/config.toml</code> (or <code>CORRAL_REDIS_URL</code>) and start workers
          with <code>corral worker</code>.
        </p>
      )}
      {data?.configured && data.error && <ErrorLine message={`${data.url}: ${data.error}`} />}
      {data?.configured && data.workers && (
        <>
          <p class="muted">{data.url}</p>
          {data.workers.length === 0 ? (
            <p>No workers registered (start one with: corral worker).</p>
          ) : (
            <div class="table-wrap">
              <table class="workers">
                <TableHead columns={["Name", "State", "Host", "Tags", "Tasks", "Load", "Last seen"]} />
                <tbody>
                  {data.workers.map((w) => {
                    const state = w.live ? w.state : w.state === "stopped" ? "stopped" : "gone";
                    return (
                      <tr key={w.name} data-worker={w.name} data-state={state}>
                        <td>{w.name}</td>
                        <td>
                          <span class={`badge worker-${state}`}>{state}</span>
                        </td>
                        <td>
                          {w.host} (pid {w.pid})
                        </td>
                        <td>{w.tags.join(", ") || "-"}</td>
                        <td title={w.running.join(" ")}>
                          <meter min={0} max={Math.max(1, w.concurrency)} value={w.running.length} /> {w.running.length}/{w.concurrency}
                        </td>
                        <td>{w.load.toFixed(2)}</td>
                        <td>{duration(w.silentS)} ago</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
