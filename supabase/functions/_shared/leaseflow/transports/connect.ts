// Transport selection, for every entry: what readWorkerEnv found in the environment decides.
import type { TransportSettings } from "../env.ts";
import type { Transport } from "../types.ts";
import { PostgresTransport, type PostgresTransportOptions } from "./postgres.ts";
import { SupabaseTransport } from "./supabase.ts";

/** The transport `settings` name: postgres.js on the database URL (with `options`), or PostgREST
 * RPC with the service-role key. */
export function connectTransport(settings: TransportSettings, options: PostgresTransportOptions = {}): Transport {
  return settings.kind === "postgres"
    ? PostgresTransport.connect(settings.dbUrl, options)
    : SupabaseTransport.connect(settings.supabaseUrl, settings.serviceRoleKey);
}
