// A long-lived Node process on postgres.js (the worker, the local stack's gateway) outlives a
// database that restarts or terminates its connections.
import { isTransientError } from "../supabase/functions/_shared/leaseflow/mod.ts";

/** Where carryOnAfterClosedConnections reports. */
export interface RejectionLog {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The driver can reject a query of a connection the server closed (a restart, a terminated
 * backend) where nothing awaits it any more; the state is in the database, so such a rejection
 * is logged, not fatal. Anything else is a bug: it ends the process.
 */
export function carryOnAfterClosedConnections(log: RejectionLog): void {
  process.on("unhandledRejection", (error) => {
    if (isTransientError(error)) {
      log.warn("A database connection was closed under a pending query; carrying on", { error: String(error) });
      return;
    }
    log.error("Unhandled rejection; stopping", { error: String((error as Error)?.stack ?? error) });
    process.exit(1);
  });
}
