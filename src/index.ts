/**
 * corral as a library: the same operations as the CLI, typed.
 *
 *   import { Corral, buildSelection } from "corral";
 *   const { id, corral } = Corral.submit({ command: ["python", "train.py"], array: "1-10%2" });
 *   const result = await corral.wait(buildSelection({ ids: [String(id)] }));
 */
export { Corral, type OpenOptions, type StatusReport, type WaitOptions, type WaitResult } from "./api/corral.js";
export type { SubmitInput } from "./api/submit.js";
export { logFiles, parseLogRef, tailLines, type LogFile, type LogStream } from "./api/logs.js";
export type { TaskRef } from "./domain/job.js";
export { ProjectView, type LocateOptions } from "./api/view.js";
export { BackgroundRefresher, ProjectWorker } from "./api/background-refresh.js";
export { applyChange, type Change, type ChangeResult } from "./api/changes.js";
export { buildSelection, EVERYTHING, type Selection } from "./domain/selection.js";
export { parseArraySpec, type ArraySpec } from "./domain/array-spec.js";
export { parseDuration, parseMemory, type Resources } from "./domain/resources.js";
export { LIFECYCLE_STATES, type LifecycleState } from "./domain/states.js";
export type { AttemptView, JobDetail, JobSummary, TaskView } from "./domain/job.js";
export { UsageError, StoreError } from "./domain/errors.js";
export { renderWrapper } from "./protocol/wrapper.js";
export { runPlan, type RunReport } from "./api/run-description.js";
export { DescriptionError, type Plan, type PlannedJob } from "./workflow/description.js";
export { planDescription } from "./api/plan.js";
export { sweepPoints, parameterValues, type SweepMode } from "./workflow/sweep.js";
export type { Point, ParamValue } from "./domain/params.js";
export { parseFilterTerm, type FilterTerm } from "./domain/filter.js";
export type { Engine, EngineCapabilities, DoctorLine } from "./engines/engine.js";
export { getEngine, engineNames } from "./api/engines.js";
