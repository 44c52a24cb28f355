import { useRef, useState } from "preact/hooks";
import { postChange, readOnly, type ChangeRequest } from "./api.js";
import { colorOf, LIFECYCLE } from "./format.js";

export function StateBadge({ state }: { state: string }) {
  return (
    <span class="badge" style={{ background: colorOf(state) }} data-state={state}>
      {state}
    </span>
  );
}

/** A bar of counts by state, with its labels written out (colour is never the only cue). */
export function StateBar({ counts, total, label }: { counts: Record<string, number>; total: number; label: string }) {
  const parts = LIFECYCLE.filter((s) => (counts[s] ?? 0) > 0);
  const text = parts.map((s) => `${s} ${counts[s]!.toLocaleString("en-US")}`).join(", ");
  return (
    <div class="statebar-wrap">
      <div class="statebar" role="img" aria-label={`${label}: ${text || "none"}`}>
        {parts.map((s) => (
          <span key={s} style={{ width: `${(100 * counts[s]!) / Math.max(1, total)}%`, background: colorOf(s) }} title={`${s}: ${counts[s]}`} />
        ))}
      </div>
      <ul class="legend">
        {parts.map((s) => (
          <li key={s}>
            <i style={{ background: colorOf(s) }} />
            {s} <b>{counts[s]!.toLocaleString("en-US")}</b>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ErrorLine({ message }: { message: string }) {
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

type Verb = ChangeRequest["verb"];
const VERB_TEXT: Record<Verb, string> = { cancel: "Cancel", resubmit: "Resubmit", release: "Release", mark: "Mark", delete: "Delete" };

/**
 * Buttons for the changes the CLI offers, on what `targets` names (`12`, `12.4`, filter words). Each asks for
 * confirmation in a dialog (with the change's options), then shows the CLI's one-line answer or refusal.
 */
export function Actions({
  targets,
  what,
  verbs = ["cancel", "resubmit", "release", "mark", "delete"],
  onDone,
}: {
  targets: readonly string[];
  what: string;
  verbs?: readonly Verb[];
  onDone?: (verb: Verb) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [verb, setVerb] = useState<Verb | null>(null);
  const [clean, setClean] = useState(false);
  const [keepLogs, setKeepLogs] = useState(false);
  const [label, setLabel] = useState("");
  const [clearLabel, setClearLabel] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  if (readOnly) return null;
  const open = (v: Verb) => {
    setVerb(v);
    setResult(null);
    dialog.current?.showModal();
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    if (!verb) return;
    setBusy(true);
    try {
      const change: ChangeRequest =
        verb === "resubmit"
          ? { verb, targets, clean }
          : verb === "delete"
            ? { verb, targets, keepLogs }
            : verb === "mark"
              ? { verb, targets, label: clearLabel ? null : label }
              : { verb, targets };
      const r = await postChange(change);
      setResult({ ok: true, text: r.message });
      onDone?.(verb);
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
      dialog.current?.close();
    }
  };
  return (
    <div class="actions">
      {verbs.map((v) => (
        <button key={v} type="button" class={v === "delete" || v === "cancel" ? "danger" : ""} onClick={() => open(v)} disabled={targets.length === 0}>
          {VERB_TEXT[v]}
        </button>
      ))}
      {result && (
        <p class={result.ok ? "ok" : "error"} role={result.ok ? "status" : "alert"} data-testid="action-result">
          {result.text}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby="confirm-title">
        <form method="dialog" onSubmit={confirm}>
          <h2 id="confirm-title">
            {verb ? VERB_TEXT[verb] : ""} {what}?
          </h2>
          <p class="muted">
            corral {verb} {targets.join(" ")}
          </p>
          {verb === "resubmit" && (
            <label>
              <input type="checkbox" checked={clean} onChange={(e) => setClean(e.currentTarget.checked)} /> delete the earlier attempts' stdout and stderr
              (--clean)
            </label>
          )}
          {verb === "delete" && (
            <label>
              <input type="checkbox" checked={keepLogs} onChange={(e) => setKeepLogs(e.currentTarget.checked)} /> keep the run directories (--keep-logs)
            </label>
          )}
          {verb === "mark" && (
            <div class="mark-options">
              <label>
                Label <input value={label} onInput={(e) => setLabel(e.currentTarget.value)} disabled={clearLabel} placeholder="collected" />
              </label>
              <label>
                <input type="checkbox" checked={clearLabel} onChange={(e) => setClearLabel(e.currentTarget.checked)} /> clear the label instead (--clear)
              </label>
            </div>
          )}
          <div class="dialog-buttons">
            <button type="button" onClick={() => dialog.current?.close()}>
              Keep as is
            </button>
            <button type="submit" class="primary" disabled={busy} data-testid="confirm">
              {verb ? VERB_TEXT[verb] : ""}
            </button>
          </div>
        </form>
      </dialog>
    </div>
  );
}

/** Previous/next for a paged list, with where it stands: "51–100 of 100,000". */
export function Pager({ offset, limit, total, onPage }: { offset: number; limit: number; total: number; onPage: (offset: number) => void }) {
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" onClick={() => onPage(0)} disabled={offset === 0} aria-label="first page">
        «
      </button>
      <button type="button" onClick={() => onPage(Math.max(0, offset - limit))} disabled={offset === 0}>
        ‹ Previous
      </button>
      <span aria-live="polite">
        {total === 0
          ? "none"
          : `${(offset + 1).toLocaleString("en-US")}–${Math.min(total, offset + limit).toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`}
      </span>
      <button type="button" onClick={() => onPage(offset + limit)} disabled={offset + limit >= total}>
        Next ›
      </button>
      <button type="button" onClick={() => onPage(last)} disabled={offset >= last} aria-label="last page">
        »
      </button>
    </nav>
  );
}

/** A table's header row of plain column titles. */
export function TableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}
