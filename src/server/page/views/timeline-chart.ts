import { CustomChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { colorOf } from "../format.js";
import type { AttemptSpan } from "../types.js";

echarts.use([CustomChart, GridComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export interface Lane {
  readonly label: string;
  readonly bars: AttemptSpan[];
}

/**
 * Attempts as bars per host and slot: on each host, an attempt takes the first slot free when it started, so
 * a host that ran two at a time shows two rows, idle gaps show as gaps, and stragglers and retries stand out.
 */
export function lanesOf(attempts: readonly AttemptSpan[], now: number): Lane[] {
  const byHost = new Map<string, AttemptSpan[]>();
  for (const a of attempts) {
    if (a.started === null) continue;
    const host = a.host ?? `(${a.engine})`;
    byHost.set(host, [...(byHost.get(host) ?? []), a]);
  }
  const lanes: Lane[] = [];
  for (const host of [...byHost.keys()].sort()) {
    const slots: { end: number; bars: AttemptSpan[] }[] = [];
    for (const a of byHost.get(host)!.sort((x, y) => x.started! - y.started!)) {
      const end = a.ended ?? now;
      const slot = slots.find((s) => s.end <= a.started!);
      if (slot) {
        slot.end = end;
        slot.bars.push(a);
      } else slots.push({ end, bars: [a] });
    }
    for (const [i, s] of slots.entries()) lanes.push({ label: slots.length > 1 ? `${host} · ${i + 1}` : host, bars: s.bars });
  }
  return lanes;
}

export function drawTimeline(el: HTMLElement, lanes: readonly Lane[], now: number, onOpen: (a: AttemptSpan) => void): () => void {
  const chart = echarts.init(el, undefined, { renderer: "canvas" });
  const data = lanes.flatMap((lane, row) =>
    lane.bars.map((a) => ({ value: [row, a.started! * 1000, (a.ended ?? now) * 1000], itemStyle: { color: colorOf(a.state) }, attempt: a })),
  );
  chart.setOption({
    animation: false,
    grid: { left: 8, right: 16, top: 8, bottom: 56, containLabel: true },
    tooltip: {
      formatter: (p: { data: { attempt: AttemptSpan } }) => {
        const a = p.data.attempt;
        const ran = Math.round((a.ended ?? now) - a.started!);
        const esc = (s: string) => s.replace(/[&<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);
        return `${a.job}.${a.index} ${esc(a.name)} attempt ${a.n}<br>${a.state}${a.exitCode !== null ? ` (exit ${a.exitCode})` : ""}${a.reason ? ` — ${esc(a.reason)}` : ""}<br>${ran} s on ${esc(a.host ?? a.engine)}`;
      },
    },
    dataZoom: [
      { type: "inside", filterMode: "weakFilter" },
      { type: "slider", filterMode: "weakFilter", height: 18, bottom: 8 },
    ],
    xAxis: { type: "time", scale: true },
    yAxis: { type: "category", data: lanes.map((l) => l.label), inverse: true, axisTick: { show: false } },
    series: [
      {
        type: "custom",
        encode: { x: [1, 2], y: 0 },
        data,
        renderItem: (
          params: unknown,
          api: { value: (i: number) => number; coord: (v: number[]) => number[]; size: (v: number[]) => number[]; style: () => unknown },
        ) => {
          const start = api.coord([api.value(1), api.value(0)]);
          const end = api.coord([api.value(2), api.value(0)]);
          const height = api.size([0, 1])[1]! * 0.7;
          const p = params as { coordSys: { x: number; y: number; width: number; height: number } };
          const rect = echarts.graphic.clipRectByRect(
            { x: start[0]!, y: start[1]! - height / 2, width: Math.max(1, end[0]! - start[0]!), height },
            { x: p.coordSys.x, y: p.coordSys.y, width: p.coordSys.width, height: p.coordSys.height },
          );
          return rect && { type: "rect", transition: [], shape: rect, style: api.style() };
        },
      },
    ],
  });
  chart.on("click", (e) => onOpen((e.data as { attempt: AttemptSpan }).attempt));
  const ro = new ResizeObserver(() => chart.resize());
  ro.observe(el);
  return () => {
    ro.disconnect();
    chart.dispose();
  };
}
