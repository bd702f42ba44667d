// LOCAL STAND-IN: pg_net's background worker. Requests queued by net.http_post are sent once
// their transaction commits (the NOTIFY that wakes this loop is delivered at commit; a poll
// every second catches anything missed), one attempt each, with their timeout; the outcome is
// written to net._http_response, as pg_net does.
import type postgres from "postgres";
import { wholeRows } from "../../../supabase/functions/_shared/leaseflow/transports/postgres.ts";

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer | null;
  timeout_milliseconds: number;
}

/** Runs the delivery loop until `signal` aborts, starting it again after an error (Postgres
 * restarting, a dropped connection) with a backoff of 100 ms doubling to 5 s, as pg_net's worker
 * comes back with its database. */
export async function runNetDelivery(sql: postgres.Sql, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  for (let pauseMs = 100; !signal.aborted; pauseMs = Math.min(pauseMs * 2, 5_000)) {
    const started = Date.now();
    try {
      await deliverNetRequests(sql, signal, log);
    } catch (error) {
      if (signal.aborted) return;
      // A loop that ran a while before failing starts again at the shortest pause.
      if (Date.now() - started > 30_000) pauseMs = 100;
      log(`[net] delivery loop failed (${(error as Error).message ?? error}); starting again in ${pauseMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/** The delivery loop: until `signal` aborts, or an error. */
async function deliverNetRequests(sql: postgres.Sql, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  let wake: () => void = () => {};
  const listener = await sql.listen("net_http_request_queue", () => wake());
  signal.addEventListener("abort", () => wake(), { once: true });
  const inFlight = new Set<Promise<void>>();
  try {
    while (!signal.aborted) {
      const requests = await wholeRows(sql<QueuedRequest[]>`
        delete from net.http_request_queue
         where id in (select id from net.http_request_queue order by id limit 20 for update skip locked)
        returning id, method, url, headers, body, timeout_milliseconds`);
      for (const request of requests) {
        const sending = send(sql, request, log).finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
      if (requests.length > 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    await listener.unlisten();
    await Promise.allSettled(inFlight);
  }
}

async function send(sql: postgres.Sql, request: QueuedRequest, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ? new Uint8Array(request.body) : undefined,
      signal: AbortSignal.timeout(request.timeout_milliseconds),
    });
    const content = await response.text();
    await sql`
      insert into net._http_response (id, status_code, content_type, headers, content, timed_out)
      values (${request.id}, ${response.status}, ${response.headers.get("content-type")},
              ${sql.json(Object.fromEntries(response.headers))}, ${content}, false)`;
    log(`[net] ${request.method} ${request.url} → ${response.status} (${Date.now() - started} ms)`);
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    const message = timedOut ? `Timeout of ${request.timeout_milliseconds} ms reached` : String((error as Error).message ?? error);
    // Never rejects: nobody awaits a send until the loop ends, so a rejection (the connection
    // killed under it) was unhandled and ended the gateway.
    await sql`
      insert into net._http_response (id, timed_out, error_msg) values (${request.id}, ${timedOut}, ${message})`
      .catch((failure) => log(`[net] could not record the response of request ${request.id}: ${(failure as Error).message ?? failure}`));
    log(`[net] ${request.method} ${request.url} → ${message}`);
  }
}
