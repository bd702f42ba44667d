// The `jobs` Edge Function: the jobs HTTP API (routes in ../_shared/leaseflow/jobs-api/app.ts).
// Callers send their own JWT (a user's, or the service-role key); the function forwards it to
// PostgREST.
import { createRegistry } from "../_shared/examples/index.ts";
import { createJobsApp } from "../_shared/leaseflow/mod.ts";

const env = (name: string) => Deno.env.get(name);

Deno.serve(
  createJobsApp({
    supabaseUrl: env("SUPABASE_URL") ?? "",
    anonKey: env("SUPABASE_ANON_KEY") ?? "",
    serviceRoleKey: env("SUPABASE_SERVICE_ROLE_KEY") ?? "",
    registry: createRegistry(env),
  }).fetch,
);
