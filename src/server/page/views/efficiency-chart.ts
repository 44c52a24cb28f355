import { BarChart, ScatterChart } from "echarts/charts";
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { memoryText, percentText, wallText } from "../format.js";
import type { UsageGroup } from "../types.js";

echarts.use([BarChart, ScatterChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);

/** Which figure a chart draws against what the groups asked for (all of them the report's own figures). */
export type UsageChartKind = "memory" | "cpu" | "wall";

interface Series {
  readonly name: string;
  readonly values: (number | null)[];
  /** A bar, or a mark at the value (what was asked for: the request, the limit). */
  readonly mark?: boolean;
  readonly color: string;
}

function seriesOf(kind: UsageChartKind, groups: readonly UsageGroup[]): { series: Series[]; unit: (x: number) => string } {
  switch (kind) {
    case "memory":
      return {
        unit: memoryText,
        series: [
          { name: "p95 used", values: groups.map((g) => g.memoryMb?.p95 ?? null), color: "#1f6fd1" },
          { name: "max used", values: groups.map((g) => g.memoryMb?.max ?? null), color: "#9ec5f4" },
          { name: "asked", values: groups.map((g) => g.requested.memMb), mark: true, color: "#c92a2a" },
        ],
      };
    case "cpu":
      return {
        unit: percentText,
        series: [{ name: "CPU efficiency", values: groups.map((g) => g.cpuEfficiency), color: "#2f9e44" }],
      };
    case "wall":
      return {
        unit: wallText,
        series: [
          { name: "p95 wall", values: groups.map((g) => g.wallS?.p95 ?? null), color: "#7048e8" },
          { name: "max wall", values: groups.map((g) => g.wallS?.max ?? null), color: "#c5b3f6" },
          { name: "time limit", values: groups.map((g) => g.requested.timeS), mark: true, color: "#c92a2a" },
        ],
      };
  }
}

/** The axis in a unit its ticks read well in (0, 1, 2, 3G rather than 1000M, 2G, 2.9G); tooltips keep the exact figure. */
function axisUnit(kind: UsageChartKind, max: number): { div: number; suffix: string } {
  if (kind === "memory") return max >= 1536 ? { div: 1024, suffix: "G" } : { div: 1, suffix: "M" };
  if (kind === "wall") return max >= 3 * 3600 ? { div: 3600, suffix: "h" } : max >= 180 ? { div: 60, suffix: "m" } : { div: 1, suffix: "s" };
  return { div: 0.01, suffix: "%" };
}

/** Rows a chart of `n` groups needs, in pixels: one band per group, and room for the axis and legend. */
export const chartHeight = (n: number) => Math.max(140, n * 30 + 80);

/**
 * One horizontal bar chart: a band per group (the groups' order, top down), bars for what was used, a red
 * mark for what was asked. A figure nobody measured has no bar, and its tooltip says "unknown" (never 0).
 */
export function drawUsageChart(el: HTMLElement, kind: UsageChartKind, groups: readonly UsageGroup[]): () => void {
  const chart = echarts.init(el, undefined, { renderer: "canvas" });
  const { series, unit } = seriesOf(kind, groups);
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const axis = axisUnit(kind, max);
  const scaled = (values: (number | null)[]) => values.map((v) => (v === null ? "-" : v / axis.div));
  const esc = (s: string) => s.replace(/[&<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  chart.setOption({
    animation: false,
    grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, data: series.map((s) => s.name) },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (ps: { dataIndex: number }[]) => {
        const i = ps[0]?.dataIndex ?? 0;
        const lines = series.map((s) => `${esc(s.name)}: ${s.values[i] === null || s.values[i] === undefined ? "unknown" : unit(s.values[i]!)}`);
        return `${esc(groups[i]?.group ?? "")}<br>${lines.join("<br>")}`;
      },
    },
    xAxis: {
      type: "value",
      axisLabel: { formatter: (v: number) => `${Number(v.toFixed(2))}${axis.suffix}` },
      ...(kind === "cpu" ? { min: 0, max: (e: { max: number }) => Math.max(100, e.max) } : {}),
    },
    yAxis: {
      type: "category",
      inverse: true,
      data: groups.map((g) => g.group),
      axisTick: { show: false },
      axisLabel: { width: 160, overflow: "truncate" },
    },
    series: series.map((s, n) =>
      s.mark
        ? {
            type: "scatter",
            name: s.name,
            symbol: "rect",
            symbolSize: [3, 22],
            z: 3,
            itemStyle: { color: s.color },
            data: scaled(s.values),
          }
        : {
            type: "bar",
            name: s.name,
            barGap: "10%",
            barMaxWidth: 12,
            itemStyle: { color: s.color },
            data: scaled(s.values),
            ...(kind === "cpu" && n === 0
              ? { markLine: { silent: true, symbol: "none", label: { show: false }, lineStyle: { color: "#495057" }, data: [{ xAxis: 100 }] } }
              : {}),
          },
    ),
  });
  const ro = new ResizeObserver(() => chart.resize());
  ro.observe(el);
  return () => {
    ro.disconnect();
    chart.dispose();
  };
}
