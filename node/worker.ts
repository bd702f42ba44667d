// `npm run worker`: the long-running Node worker, over postgres.js (SUPABASE_DB_URL) or over the
// API (LEASEFLOW_TRANSPORT=api, SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY). It runs the same drain
// loop as the Edge Function, polling with backoff while the queue is empty. SIGTERM or SIGINT: stop claiming,
// finish the steps in flight, release the rest, exit 0. A second signal: release the steps in
// flight at once and exit 0.
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";
import { runNodeWorker } from "./run.ts";

await runNodeWorker(createRegistry);
