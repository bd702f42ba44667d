// Shows the postgres.js failure PostgresTransport's callTimeoutMs guards against, and the guard:
// clients that query in a loop while every connection of theirs is terminated (pg_terminate_backend)
// every 50 ms. A plain postgres.js client (3.4.9) can leave a query unsettled for good (the query
// sent while its connection was failing waits in a connection that is closed); a PostgresTransport
// call fails after callTimeoutMs instead, and the next call runs on a new pool.
//   node --import tsx scripts/bench/pg-stranded.ts [seconds = 20]
// Prints, per kind of client, the calls answered, failed, and left unanswered 20 s after the storm.
import postgres from "postgres";
import { carryOnAfterClosedConnections } from "../../node/unhandled.ts";
import { PostgresTransport, workerConnectionSettings } from "../../supabase/functions/_shared/leaseflow/mod.ts";

// The driver rejects internal queries of terminated connections where nothing awaits them, as the
// worker does (node/unhandled.ts).
carryOnAfterClosedConnections({ warn: () => {}, error: (message, fields) => console.error(message, fields) });

const DB_URL = process.env.SUPABASE_DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const seconds = Number(process.argv[2] ?? 20);
const APP = "leaseflow-pg-stranded";
const admin = postgres(DB_URL, { max: 1, onnotice: () => {} });
const until = Date.now() + seconds * 1_000;

interface Tally { answered: number; failed: number; unanswered: number }
/** Four loops of `call`, each waiting for its call's answer before the next. */
async function loops(call: (i: number) => Promise<unknown>): Promise<Tally> {
  const tally = { answered: 0, failed: 0, unanswered: 0 };
  const waiting = new Set<number>();
  const runs = Array.from({ length: 4 }, async (_, i) => {
    while (Date.now() < until) {
      waiting.add(i);
      await call(i).then(() => tally.answered++, () => tally.failed++);
      waiting.delete(i);
    }
  });
  // A loop still waiting 20 s after the storm waits for a call that will never settle.
  await Promise.race([Promise.all(runs), new Promise((done) => setTimeout(done, until - Date.now() + 20_000))]);
  tally.unanswered = waiting.size;
  return tally;
}

const connection = { application_name: APP };
const plain = Array.from({ length: 4 }, () => postgres(DB_URL, { max: 1, onnotice: () => {}, connection, ...workerConnectionSettings() }));
const transports = Array.from({ length: 4 }, () =>
  new PostgresTransport(postgres(DB_URL, { max: 1, onnotice: () => {}, connection }), true, {
    callTimeoutMs: 2_000,
    reopen: () => postgres(DB_URL, { max: 1, onnotice: () => {}, connection, ...workerConnectionSettings() }),
  }));
const storm = (async () => {
  while (Date.now() < until) {
    await new Promise((done) => setTimeout(done, 50));
    await admin`select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = ${APP}`.catch(() => {});
  }
})();
const [raw, guarded] = await Promise.all([
  loops((i) => plain[i]!`select pg_sleep(0.005)`),
  loops((i) => transports[i]!.nextClaimableAt(["leaseflow.none"])),
  storm,
]);
console.log(`postgres.js clients:  ${raw.answered} answered, ${raw.failed} failed, ${raw.unanswered} of 4 left unanswered 20 s after the storm`);
console.log(`PostgresTransport:    ${guarded.answered} answered, ${guarded.failed} failed (callTimeoutMs 2 000), ${guarded.unanswered} of 4 left unanswered`);
// Not awaited: a pool with a stranded connection may never finish ending (porsager/postgres#1097).
for (const client of plain) void client.end({ timeout: 0 }).catch(() => {});
for (const transport of transports) void transport.close().catch(() => {});
await admin.end({ timeout: 1 });
process.exit(0);
