/**
 * Parameter sweeps: each parameter's values come from a list, an integer range ("1..20", "0..100:10"), or
 * an evenly spaced series ({ linspace = [0, 1, 5] }, { logspace = [-3, 0, 4] } for powers of ten). The
 * points are the cartesian product of the values (the first parameter varies slowest), or with zip mode
 * the i-th values of every parameter together.
 */
import type { ParamValue, Point } from "../domain/params.js";

export type { ParamValue, Point };
export type SweepSpec = Readonly<Record<string, readonly ParamValue[] | string | { linspace: readonly number[] } | { logspace: readonly number[] }>>;
export type SweepMode = "product" | "zip";

/** More points than this in one sweep is almost certainly a mistake (and a database of that size). */
export const MAX_SWEEP_POINTS = 1_000_000;

export const PARAM_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RANGE_RE = /^(-?\d+)\.\.(-?\d+)(?::(\d+))?$/;

/** The values of one parameter, or a reason why its specification is wrong. */
export function parameterValues(spec: SweepSpec[string]): ParamValue[] | string {
  if (Array.isArray(spec)) return spec.length > 0 ? [...spec] : "an empty list";
  if (typeof spec === "string") {
    const m = RANGE_RE.exec(spec.trim());
    if (!m) return `'${spec}' is not a range: expected "1..20" or "0..100:10" (start..end:step, both ends included)`;
    const [a, b, step] = [Number(m[1]), Number(m[2]), m[3] === undefined ? 1 : Number(m[3])];
    if (step <= 0) return `'${spec}': the step must be at least 1`;
    if (b < a) return `'${spec}': the end is before the start`;
    const out: number[] = [];
    for (let x = a; x <= b; x += step) out.push(x);
    return out;
  }
  const [kind, args] = "linspace" in spec ? ["linspace", spec.linspace] : ["logspace", (spec as { logspace: readonly number[] }).logspace];
  if (args.length !== 3 || !Number.isInteger(args[2]) || args[2]! < 1) return `${kind} takes [start, stop, count] with a whole count of at least 1`;
  const [start, stop, n] = args as [number, number, number];
  const values = Array.from({ length: n }, (_, i) => (n === 1 ? start : start + ((stop - start) * i) / (n - 1)));
  // Rounded to 12 significant digits, so 0.1 steps print as 0.3 rather than 0.30000000000000004.
  return values.map((v) => Number((kind === "logspace" ? 10 ** v : v).toPrecision(12)));
}

/** How many points a sweep has, without building them (for limits and planning). */
export function pointCount(values: readonly (readonly ParamValue[])[], mode: SweepMode): number {
  if (values.length === 0) return 0;
  return mode === "zip" ? values[0]!.length : values.reduce((n, v) => n * v.length, 1);
}

/** The sweep's points, in order. Zip requires lists of equal length (checked by the caller). */
export function sweepPoints(names: readonly string[], values: readonly (readonly ParamValue[])[], mode: SweepMode): Point[] {
  const n = pointCount(values, mode);
  const points: Point[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p: Record<string, ParamValue> = {};
    if (mode === "zip") {
      for (const [k, name] of names.entries()) p[name] = values[k]![i]!;
    } else {
      // Mixed radix, the last parameter varying fastest; keys are set in the order the user gave them.
      const picks = new Array<number>(names.length);
      let rest = i;
      for (let k = names.length - 1; k >= 0; k--) {
        picks[k] = rest % values[k]!.length;
        rest = Math.floor(rest / values[k]!.length);
      }
      for (const [k, name] of names.entries()) p[name] = values[k]![picks[k]!]!;
    }
    points[i] = p;
  }
  return points;
}

/** `lr=0.1,0.01` or `seed=1..5` (the CLI's -p) as a parameter name and its specification. */
export function parseParamFlag(text: string): { name: string; spec: SweepSpec[string] } | string {
  const eq = text.indexOf("=");
  if (eq <= 0) return `-p '${text}': expected NAME=VALUES, as in lr=0.1,0.01 or seed=1..5`;
  const name = text.slice(0, eq);
  const rest = text.slice(eq + 1);
  if (!PARAM_NAME_RE.test(name)) return `-p '${text}': '${name}' is not a parameter name (letters, digits, _)`;
  if (RANGE_RE.test(rest.trim())) return { name, spec: rest.trim() };
  const lin = /^(lin|log)space\((.*)\)$/.exec(rest.trim());
  if (lin) {
    const nums = lin[2]!.split(",").map((x) => Number(x.trim()));
    return { name, spec: lin[1] === "lin" ? { linspace: nums } : { logspace: nums } };
  }
  if (rest === "") return `-p '${text}': no values`;
  return { name, spec: rest.split(",").map((v) => (/^-?\d+(\.\d+)?([eE]-?\d+)?$/.test(v) ? Number(v) : v)) };
}
