// A worker's row in the `workers` table, kept by one function for both kinds of worker (an Edge
// invocation, a Node process): register, heartbeat while working, mark stopped with what the
// work produced, even when the work fails, so tick() never counts a dead worker as alive.
import { retryTransient } from "./errors.ts";
import type { Logger, RegisterWorkerParams, Transport } from "./types.ts";

/** Who the worker is and how it reports. */
export interface RegistrationOptions extends RegisterWorkerParams {
  /** The driver to the SQL functions. */
  transport: Transport;
  /** How often heartbeat_worker runs while the work runs. */
  heartbeatMs: number;
  /** Where a failed heartbeat or stop is reported. */
  log: Logger;
  /** Heartbeats stop after this long: work still running then is hung, and tick() should count
   * the worker lost. (Default: no limit) */
  heartbeatForMs?: number;
}

/** Registers the worker, runs `work` while heartbeating, then marks the worker stopped with
 * `stopMetadata(result)` merged into its metadata ({error} when the work threw). */
export async function runRegistered<T>(
  options: RegistrationOptions,
  work: () => Promise<T>,
  stopMetadata: (result: T) => Record<string, unknown>,
): Promise<T> {
  const { transport, workerId, heartbeatMs, log } = options;
  await retryTransient(() => transport.registerWorker({ workerId, kind: options.kind, metadata: options.metadata }), {
    what: "Registering the worker",
    log,
  });
  const heartbeatUntil = Date.now() + (options.heartbeatForMs ?? Number.POSITIVE_INFINITY);
  const heartbeat = setInterval(() => {
    if (Date.now() > heartbeatUntil) {
      clearInterval(heartbeat);
      log.error("The work outlived its budget: no longer heartbeating, so tick() counts this worker lost");
      return;
    }
    transport.heartbeatWorker(workerId).catch((error) => log.warn("Worker heartbeat failed", { error: String(error) }));
  }, heartbeatMs);
  let metadata: Record<string, unknown> | undefined;
  try {
    const result = await work();
    metadata = stopMetadata(result);
    return result;
  } catch (error) {
    metadata = { error: String(error) };
    throw error;
  } finally {
    clearInterval(heartbeat);
    await transport
      .stopWorker(workerId, metadata ?? {})
      .catch((error) => log.error("Could not mark the worker stopped", { error: String(error) }));
  }
}
