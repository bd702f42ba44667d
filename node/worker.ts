// `npm run worker`: the long-running Node worker, over postgres.js (SUPABASE_DB_URL) or over the
// API (LEASEFLOW_TRANSPORT=api, SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY). It runs the same drain
// loop as the Edge Function, polling with backoff while the queue is empty. SIGTERM or SIGINT: stop claiming,
// finish the steps in flight, release the rest, exit 0. A second signal: release the steps in
// flight at once and exit 0.
import { hostname } from "node:os";
import { createRegistry } from "../supabase/functions/_shared/examples/index.ts";
import { connectTransport, createConsoleLogger, poll, readWorkerEnv } from "../supabase/functions/_shared/leaseflow/mod.ts";

let env;
try {
  env = readWorkerEnv((name) => process.env[name]);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const workerId = `node-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const log = createConsoleLogger(env.logLevel);
log.info(`leaseflow worker ${workerId} starting`, {
  transport: env.transport.kind,
  batch: env.batchSize,
  concurrency: env.concurrency,
  lease_ms: env.leaseMs,
});

const transport = connectTransport(env.transport, { maxConnections: 4 });
const registry = createRegistry((name) => process.env[name]);
await registry.publish(transport);

const stop = new AbortController();
const abort = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (!stop.signal.aborted) {
      log.info(`${signal}: no more claims; finishing the steps in flight (send it again to stop at once)`);
      stop.abort();
    } else {
      log.info(`${signal}: releasing the steps in flight and stopping now`);
      abort.abort();
    }
  });
}

const summary = await poll({
  workerId,
  transport,
  registry,
  leaseMs: env.leaseMs,
  batchSize: env.batchSize,
  concurrency: env.concurrency,
  idle: { lingerMs: env.lingerMs },
  stopSignal: stop.signal,
  abortSignal: abort.signal,
  log,
  // The types tell queue_stats which steps some worker can claim.
  metadata: { host: hostname(), pid: process.pid, types: registry.typeNames() },
});
log.info(`leaseflow worker ${workerId} stopped`, { ...summary });
await transport.close();
process.exit(0);
