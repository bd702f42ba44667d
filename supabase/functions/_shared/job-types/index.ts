// The job types this project's workers run. The Edge Function and the Node worker both build
// their registry here, so they always run the same handlers.
import { Registry } from "../registry.ts";
import { pipelineJobType, sleepJobType } from "./diagnostics.ts";

/** A registry with every job type of the project. */
export function createRegistry(): Registry {
  return new Registry().define(sleepJobType).define(pipelineJobType);
}
