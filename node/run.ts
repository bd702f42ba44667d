// The long-running Node worker's process: environment, registration of the job types, the
// drain loop with backoff while the queue is empty, and signals. `npm run worker` runs it with the
// example job types (node/worker.ts); the chaos suite with its own (scripts/chaos/worker.ts).
// SIGTERM or SIGINT: stop claiming, finish the steps in flight, release the rest, exit 0. A
// second signal: release the steps in flight at once and exit 0.
import { hostname } from "node:os";
import {
  connectTransport,
  createConsoleLogger,
  poll,
  readWorkerEnv,
  type Registry,
  retryTransient,
} from "../supabase/functions/_shared/leaseflow/mod.ts";
import { carryOnAfterClosedConnections } from "./unhandled.ts";

/** Runs a Node worker for the job types `createRegistry` defines, until a signal; exits the process. */
export async function runNodeWorker(createRegistry: (env: (name: string) => string | undefined) => Registry): Promise<never> {
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

  const transport = connectTransport(env.transport);
  const registry = createRegistry((name) => process.env[name]);
  await retryTransient(() => registry.publish(transport), { what: "Publishing the job types", log });
  carryOnAfterClosedConnections(log);

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
    maxHeldBytes: env.maxHeldBytes,
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
}
