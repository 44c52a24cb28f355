import { render } from "preact";
import "./style.css";
import { readOnly } from "./api.js";
import { startLive, useLiveState } from "./live.js";
import { href, useRoute, type Route } from "./router.js";
import { EfficiencyView } from "./views/efficiency.js";
import { JobView } from "./views/job.js";
import { JobsView } from "./views/jobs.js";
import { LogsView } from "./views/logs.js";
import { OverviewView } from "./views/overview.js";
import { TimelineView } from "./views/timeline.js";
import { WorkersView } from "./views/workers.js";

/**
 * The views in the navigation, in order. A view is a path (the hash's first part) and a component.
 */
const VIEWS: { path: string; title: string; view: (route: Route) => preact.JSX.Element }[] = [
  { path: "", title: "Overview", view: () => <OverviewView /> },
  { path: "jobs", title: "Jobs", view: (r) => <JobsView route={r} /> },
  { path: "timeline", title: "Timeline", view: (r) => <TimelineView route={r} /> },
  { path: "efficiency", title: "Efficiency", view: (r) => <EfficiencyView route={r} /> },
  { path: "workers", title: "Workers", view: () => <WorkersView /> },
];

function Page(route: Route): preact.JSX.Element {
  const [first, ...rest] = route.parts;
  if (first === "job" && /^\d+$/.test(rest[0] ?? "")) return <JobView key={rest[0]} id={Number(rest[0])} route={route} />;
  if (first === "logs" && rest.length === 3 && rest.every((p) => /^\d+$/.test(p)))
    return <LogsView job={Number(rest[0])} index={Number(rest[1])} attempt={Number(rest[2])} route={route} />;
  const v = VIEWS.find((x) => x.path === (first ?? ""));
  if (v) return v.view(route);
  return <p role="alert">There is no page '{route.parts.join("/")}' here.</p>;
}

function App() {
  const route = useRoute();
  const { connection } = useLiveState();
  const current = route.parts[0] === "job" || route.parts[0] === "logs" ? "jobs" : (route.parts[0] ?? "");
  return (
    <>
      <a class="skip" href="#main">
        Skip to the content
      </a>
      <header>
        <a class="brand" href={href("")}>
          corral
        </a>
        <nav aria-label="views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.path}>
                <a href={href(v.path)} aria-current={current === v.path ? "page" : undefined}>
                  {v.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={`live ${connection}`} role="status" data-testid="live">
          {connection === "live" ? "● live" : "○ reconnecting…"}
          {readOnly ? " · read-only" : ""}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {Page(route)}
      </main>
    </>
  );
}

startLive();
const root = document.getElementById("app")!;
root.textContent = ""; // the "Loading…" shown until this script ran
render(<App />, root);
