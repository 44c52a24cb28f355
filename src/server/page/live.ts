import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, getJson } from "./api.js";

/**
 * The server pushes a version number over one event stream whenever the store changed (another process
 * committed); every view re-reads what it shows when the version moves, so nothing needs a reload.
 */
let version = 0;
let connection: "live" | "reconnecting" = "reconnecting";
let lastRefresh: { at: string; error: string | null } | null = null;
const listeners = new Set<() => void>();
const notify = () => {
  for (const fn of listeners) fn();
};

export function startLive(): void {
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => {
    connection = "live";
    notify();
  });
  es.addEventListener("change", (e) => {
    version = (JSON.parse((e as MessageEvent<string>).data) as { version: number }).version;
    connection = "live";
    notify();
  });
  es.addEventListener("refresh", (e) => {
    lastRefresh = JSON.parse((e as MessageEvent<string>).data) as { at: string; error: string | null };
    notify();
  });
  es.addEventListener("error", () => {
    connection = "reconnecting"; // EventSource reconnects by itself
    notify();
  });
}

/** Re-renders the caller whenever the store's version, the connection or the last refresh changes. */
export function useLiveState(): { version: number; connection: typeof connection; lastRefresh: typeof lastRefresh } {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((n) => n + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return { version, connection, lastRefresh };
}

export interface Loaded<T> {
  readonly data: T | null;
  readonly error: ApiError | null;
  readonly loading: boolean;
}

/**
 * GETs `url` now, again whenever the store changes, and every `everyMs` if given (for what the store does not
 * hold, such as Redis workers). One request at a time: a change during a request is read right after it.
 */
export function useLiveJson<T>(url: string | null, everyMs?: number): Loaded<T> {
  const { version: v } = useLiveState();
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  const inFlight = useRef(false);
  const again = useRef(false);
  const current = useRef(url);
  current.current = url;
  const [timerTick, setTimerTick] = useState(0);

  useEffect(() => {
    if (everyMs === undefined) return;
    const t = setInterval(() => setTimerTick((n) => n + 1), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);

  // A new address starts afresh (no stale rows of another page shown as this one's).
  useEffect(() => setState({ data: null, error: null, loading: true }), [url]);

  useEffect(() => {
    if (url === null) return;
    const load = () => {
      if (inFlight.current) {
        again.current = true;
        return;
      }
      inFlight.current = true;
      const asked = url;
      getJson<T>(asked)
        .then(
          (data) => current.current === asked && setState({ data, error: null, loading: false }),
          (error: unknown) =>
            current.current === asked &&
            setState((s) => ({ data: s.data, error: error instanceof ApiError ? error : new ApiError(String(error), 0, false), loading: false })),
        )
        .finally(() => {
          inFlight.current = false;
          if (again.current) {
            // Read again through the effect, so it is the address shown now that is read.
            again.current = false;
            setTimerTick((n) => n + 1);
          }
        });
    };
    load();
  }, [url, v, timerTick]);
  return state;
}
