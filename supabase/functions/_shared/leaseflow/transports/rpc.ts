// One way to call a SQL function through PostgREST, for the API transport (with the service-role
// key) and the jobs API (with the caller's JWT): supabase-js's `.rpc()`, the client apps use.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database, Json } from "../database.types.ts";

/** The Supabase client the transports and the jobs API call PostgREST with, typed by the schema. */
export type DatabaseClient = SupabaseClient<Database>;

type PublicFunctions = Database["public"]["Functions"];
/** A SQL function of the public schema. */
export type FunctionName = keyof PublicFunctions & string;
/** Its named arguments, as `supabase gen types` describes them (those with defaults optional). */
export type FunctionArgs<Fn extends FunctionName> = PublicFunctions[Fn]["Args"];
/** What it returns, as `supabase gen types` describes it (it cannot tell a nullable result, and a
 * json/jsonb one is just Json: see `jsonAs`). */
export type FunctionReturns<Fn extends FunctionName> = PublicFunctions[Fn]["Returns"];

/** A value sent as a json/jsonb argument (JSON.stringify sends it as it is). */
export function asJson(value: unknown): Json {
  return value as Json;
}

/** A failed RPC: the function, the HTTP status and PostgREST's error (code, message, details, hint). */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(
    /** The SQL function called. */
    readonly fn: string,
    /** The HTTP status PostgREST answered (0 when no answer arrived). */
    readonly status: number,
    /** PostgREST's error code: the SQLSTATE (22023, PT404, ...) or a PGRST code. */
    readonly code: string,
    /** PostgREST's message: the SQL exception's text. */
    readonly reason: string,
    /** The exception's DETAIL, when it had one. */
    readonly details?: string,
    /** The exception's HINT, when it had one. */
    readonly hint?: string,
  ) {
    super(`${fn}: ${reason} (${code})`);
  }
}

/** Stands in for a WebSocket where the runtime has none (Node 20): these clients never open
 * Realtime, and createClient refuses to start without a WebSocket to give it. */
class NoRealtimeSocket {
  constructor() {
    throw new Error("leaseflow's server-side Supabase clients do not use Realtime (and this runtime has no native WebSocket; Node 22+ has one)");
  }
}

/** createClient's options for a client that never opens Realtime: on a runtime without a native
 * WebSocket (Node 20) the stand-in above, so that it starts; elsewhere none. */
export function withoutRealtime(): { realtime?: { transport: typeof WebSocket } } {
  return typeof globalThis.WebSocket === "undefined" ? { realtime: { transport: NoRealtimeSocket as unknown as typeof WebSocket } } : {};
}

/** A client of the project at `supabaseUrl` that sends `apiKey` and acts as `token` (a user's JWT
 * or the service-role key): no session of its own, nothing stored. */
export function restClient(supabaseUrl: string, apiKey: string, token: string): DatabaseClient {
  return createClient<Database>(supabaseUrl, apiKey, { accessToken: () => Promise.resolve(token), ...withoutRealtime() });
}

/** A json/jsonb result read as the shape its SQL function documents (the generated types know
 * it only as Json). */
export function jsonAs<T>(value: Json): T {
  return value as T;
}

/** supabase-js's answer for `name` (a function, or a table or view read) as an RpcError. */
export function rpcErrorOf(name: string, status: number, error: { code?: string; message: string; details?: string; hint?: string }): RpcError {
  return new RpcError(name, status, error.code ?? "unknown", error.message, error.details || undefined, error.hint || undefined);
}

/** Calls the SQL function `fn` with named arguments, both checked against the generated types;
 * resolves with its result or throws RpcError (status 0 when no answer came, `signal` aborted). */
export async function callRpc<Fn extends FunctionName>(client: DatabaseClient, fn: Fn, args: FunctionArgs<Fn>, signal?: AbortSignal): Promise<FunctionReturns<Fn>> {
  const call = client.rpc(fn, args);
  const { data, error, status } = await (signal ? call.abortSignal(signal) : call);
  if (error) throw rpcErrorOf(fn, status, error);
  return data as FunctionReturns<Fn>;
}
