// One way to call a SQL function through PostgREST, for the API transport (with the service-role
// key) and the jobs API (with the caller's JWT). The client is @supabase/postgrest-js, the
// library supabase-js's own .rpc() delegates to, used without the rest of supabase-js because
// supabase-js's createClient refuses to start on Node 20, which has no native WebSocket for its
// Realtime part.
import { PostgrestClient } from "@supabase/postgrest-js";

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

/** A PostgREST client for the project at `supabaseUrl` (…/rest/v1) that sends `apiKey` and the
 * bearer token `authorization` (a user's JWT or the service-role key). */
export function restClient(supabaseUrl: string, apiKey: string, authorization: string): PostgrestClient {
  return new PostgrestClient(`${supabaseUrl.replace(/\/+$/, "")}/rest/v1`, {
    headers: { apikey: apiKey, Authorization: authorization },
  });
}

/** Calls the SQL function `fn` with named arguments; resolves with its result or throws RpcError. */
export async function callRpc<T>(client: PostgrestClient, fn: string, args: Record<string, unknown>): Promise<T> {
  const { data, error, status } = await client.rpc(fn, args as never);
  if (error) throw new RpcError(fn, status, error.code ?? "unknown", error.message, error.details || undefined, error.hint || undefined);
  return data as T;
}
