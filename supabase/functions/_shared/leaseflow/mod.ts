// leaseflow's library core, in one entry module: the Node worker, the `worker` and `jobs` Edge
// Functions and an app's own code import everything from here. The folder holds no example job
// types; copy it into a project as it is (its npm dependencies: postgres, @supabase/supabase-js,
// hono, zod).
export * from "./types.ts";
export * from "./errors.ts";
export * from "./registry.ts";
export * from "./diagnostics.ts";
export * from "./env.ts";
export * from "./drain.ts";
export * from "./idle.ts";
export * from "./poll.ts";
export * from "./registration.ts";
export * from "./edge-worker.ts";
export * from "./transports/connect.ts";
export * from "./transports/postgres.ts";
export * from "./transports/supabase.ts";
export * from "./transports/rpc.ts";
export * from "./jobs-api/app.ts";
export * from "./client.ts";
