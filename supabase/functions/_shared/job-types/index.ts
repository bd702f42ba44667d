// The job types this project's workers run. The Edge Functions (worker, jobs) and the Node worker
// all build their registry here, so they run and validate the same types.
import { Registry } from "../registry.ts";
import { buildJobType } from "./build.ts";
import { campaignEmailJobType } from "./campaign-email.ts";
import { pipelineJobType, sleepJobType } from "./diagnostics.ts";
import { notifyJobType } from "./notify.ts";
import { Services } from "./services.ts";

/** A registry with every job type of the project; `env` reads the services' URLs. */
export function createRegistry(env: (name: string) => string | undefined = () => undefined): Registry {
  const services = Services.fromEnv(env);
  return new Registry()
    .define(sleepJobType)
    .define(pipelineJobType)
    .define(buildJobType)
    .define(campaignEmailJobType(services))
    .define(notifyJobType(services));
}
