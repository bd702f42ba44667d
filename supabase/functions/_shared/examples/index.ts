// The example app's job types (build, campaign_email, notify) next to leaseflow's built-in
// diagnostic types: the registry this project's workers run. The Edge Functions (worker, jobs)
// and the Node worker all build it here, so they run and validate the same types.
import { pipelineJobType, Registry, sleepJobType } from "../leaseflow/mod.ts";
import { buildJobType } from "./build.ts";
import { campaignEmailJobType } from "./campaign-email.ts";
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
