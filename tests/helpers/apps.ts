// What the app-facing suites share: the demo users supabase/seed.sql adds, supabase-js created as
// an app creates it, and the example job types published as a worker publishes them at start.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { createRegistry } from "../../supabase/functions/_shared/examples/index.ts";
import type { Database } from "../../supabase/functions/_shared/leaseflow/database.types.ts";
import { PostgresTransport, restClient, withoutRealtime } from "../../supabase/functions/_shared/leaseflow/mod.ts";
import { ANON_KEY, API_URL, connect } from "./db.ts";

/** The seed's demo users (both passwords "leaseflow-demo"); a user's id is its tenant. */
export const ALICE = { id: "a11ce000-0000-4000-8000-000000000001", email: "alice@example.com", password: "leaseflow-demo" };
export const BOB = { id: "b0b00000-0000-4000-8000-000000000002", email: "bob@example.com", password: "leaseflow-demo" };

/** supabase-js against the local stack as an app creates it, acting as `accessToken` when given
 * (else signed out, sessions kept in memory); these suites never open Realtime. */
export function appSupabase(accessToken?: string): SupabaseClient<Database> {
  if (accessToken) return restClient(API_URL, ANON_KEY, accessToken);
  return createClient<Database>(API_URL, ANON_KEY, { auth: { persistSession: false, autoRefreshToken: false }, ...withoutRealtime() });
}

/** define_job_type for every example type, as a worker does when it starts (a fresh reset has none). */
export async function publishExampleTypes(): Promise<void> {
  const transport = new PostgresTransport(connect({ max: 1 }), true);
  try {
    await createRegistry().publish(transport);
  } finally {
    await transport.close();
  }
}
