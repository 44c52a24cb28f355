import type { DirectiveJob } from "../../protocol/directives.js";
import type { SubmissionRequest } from "./backend.js";
import { schedulerJobName } from "./pass-through.js";

/** A submission as the shared directive writers (protocol/directives.ts) take it; `scheduler` names its output files. */
export function directiveJob(req: SubmissionRequest, scheduler: string): DirectiveJob {
  const j = req.job;
  return {
    name: schedulerJobName(j.name),
    cpus: j.cpus,
    memMb: j.mem_mb,
    timeS: j.time_limit_s,
    gpus: j.gpus,
    queue: j.queue,
    array: req.range === null ? null : { range: req.range, cap: req.cap },
    outputPrefix: `${req.logDir}/${scheduler}`,
    comment: req.comment,
    afterOk: req.afterOk,
    afterAny: req.afterAny,
  };
}
