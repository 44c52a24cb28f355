import { useEffect, useRef, useState } from "preact/hooks";
import { colorOf } from "../format.js";

/**
 * A large array as one canvas of small cells coloured by state: 10,000 tasks drawn at once, readable at a
 * glance, with no element per task. The canvas is focusable: arrow keys move a cursor cell, Enter opens it;
 * a click opens the cell under the pointer.
 */
export function TaskGrid({ index, state, total, onOpen }: { index: number[]; state: string[]; total: number; onOpen: (taskIndex: number) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  const [cursor, setCursor] = useState(0);
  const n = index.length;
  // Cells shrink with the count so that 10,000 fit on a screen; never below 4 px.
  const cell = n <= 200 ? 18 : n <= 2000 ? 10 : n <= 20000 ? 6 : 4;
  const gap = cell >= 10 ? 2 : 1;
  const perRow = Math.max(1, Math.floor((width + gap) / (cell + gap)));
  const rows = Math.ceil(n / perRow);

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    const h = Math.max(1, rows * (cell + gap));
    c.width = Math.floor(width * dpr);
    c.height = Math.floor(h * dpr);
    c.style.width = `${width}px`;
    c.style.height = `${h}px`;
    const g = c.getContext("2d");
    if (!g) return;
    g.scale(dpr, dpr);
    g.clearRect(0, 0, width, h);
    for (let i = 0; i < n; i++) {
      g.fillStyle = colorOf(state[i]!);
      g.fillRect((i % perRow) * (cell + gap), Math.floor(i / perRow) * (cell + gap), cell, cell);
    }
    if (document.activeElement === c && n > 0) {
      g.strokeStyle = "#000";
      g.lineWidth = 2;
      g.strokeRect((cursor % perRow) * (cell + gap) - 1, Math.floor(cursor / perRow) * (cell + gap) - 1, cell + 2, cell + 2);
    }
  }, [index, state, width, cursor, cell, gap, perRow, rows, n]);

  const counts = new Map<string, number>();
  for (const s of state) counts.set(s, (counts.get(s) ?? 0) + 1);
  const summary = [...counts.entries()].map(([s, k]) => `${s} ${k.toLocaleString("en-US")}`).join(", ");

  const at = (e: MouseEvent): number | null => {
    const r = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) / (cell + gap));
    const row = Math.floor((e.clientY - r.top) / (cell + gap));
    const i = row * perRow + col;
    return col < perRow && i >= 0 && i < n ? i : null;
  };
  const [hover, setHover] = useState<number | null>(null);
  const shown = hover ?? cursor;

  return (
    <div class="grid" ref={wrap}>
      <canvas
        ref={canvas}
        tabIndex={0}
        role="img"
        aria-label={`${n.toLocaleString("en-US")} tasks: ${summary}. Arrow keys move, Enter opens a task.`}
        data-cells={n}
        data-summary={summary}
        onClick={(e) => {
          const i = at(e);
          if (i !== null) {
            setCursor(i);
            onOpen(index[i]!);
          }
        }}
        onMouseMove={(e) => setHover(at(e))}
        onMouseLeave={() => setHover(null)}
        onFocus={() => setCursor((c) => c)}
        onKeyDown={(e) => {
          const move: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -n, End: n };
          if (e.key in move) {
            e.preventDefault();
            setCursor((c) => Math.min(n - 1, Math.max(0, c + move[e.key]!)));
          } else if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            if (n > 0) onOpen(index[cursor]!);
          }
        }}
      />
      <p class="muted grid-caption" aria-live="polite">
        {n > 0 && `task ${index[shown]}: ${state[shown]}`}
        {total > n && ` — the first ${n.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} tasks are drawn`}
      </p>
    </div>
  );
}
