// Overview: jobs by status, throughput, success rate, wait and processing times, the oldest
// pending job, the trend of the last hour, each type, and the live workers.
import { type Client, type OverviewDoc, reads } from "../api.ts";
import { TrendChart } from "../components/TrendChart.tsx";
import { formatMs, Refusal, When } from "../components/ui.tsx";
import { useLive } from "../hooks.ts";

const STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;

export function Overview({ client }: { client: Client }) {
  const overview = useLive<OverviewDoc>(client, reads.overview);
  const stats = overview.data?.stats;
  const totals = stats?.totals;
  const workers = overview.data?.workers;

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Refusal error={overview.error} />
      <div className="cards">
        {STATUSES.map((status) => (
          <div key={status} className={`card card-${status}`} data-testid={`count-${status}`}>
            <div className="card-label">{status}</div>
            <div className="card-value">{totals ? totals[status] : "…"}</div>
          </div>
        ))}
      </div>
      <dl className="figures">
        <div><dt>Throughput (last minute)</dt><dd>{stats ? `${stats.completed["1m"]} / min` : "…"}</dd></div>
        <div><dt>Success rate (1 h)</dt><dd>{stats?.successRate == null ? "—" : `${(stats.successRate * 100).toFixed(1)} %`}</dd></div>
        <div><dt>Average wait (latest 1 000, 1 h)</dt><dd>{formatMs(stats?.avgWaitMs)}</dd></div>
        <div><dt>Average processing (latest 1 000, 1 h)</dt><dd>{formatMs(stats?.avgProcessingMs)}</dd></div>
        <div><dt>Oldest pending</dt><dd>{formatMs(stats?.oldestPendingAgeMs)}</dd></div>
      </dl>
      <h2>Last hour</h2>
      <TrendChart points={overview.data?.trend ?? []} />
      <h2>Job types</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Type</th>
            {STATUSES.map((status) => <th key={status} scope="col">{status}</th>)}
            <th scope="col">Per min (5 min)</th>
            <th scope="col">Retries (1 h)</th>
            <th scope="col">Unclaimable steps</th>
          </tr>
        </thead>
        <tbody>
          {(overview.data?.types ?? []).map((row) => (
            <tr key={row.type ?? "(none)"}>
              <th scope="row">{row.type ?? "(made by hand)"}</th>
              {STATUSES.map((status) => <td key={status}>{row[status]}</td>)}
              <td>{row.throughput_per_min_5m}</td>
              <td>{row.retries_60m}</td>
              <td>{row.unclaimable_steps}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Workers</h2>
      {workers === null ? (
        <p className="muted">Workers are shown to operators only.</p>
      ) : (
        <table>
          <thead><tr><th scope="col">Worker</th><th scope="col">Kind</th><th scope="col">Started</th><th scope="col">Last heartbeat</th></tr></thead>
          <tbody>
            {(workers ?? []).map((worker) => (
              <tr key={worker.id}><td>{worker.id}</td><td>{worker.kind}</td><td><When at={worker.started_at} /></td><td><When at={worker.last_heartbeat_at} /></td></tr>
            ))}
            {workers?.length === 0 ? <tr><td colSpan={4} className="muted">No live worker (an idle queue has none: pg_cron wakes one when work arrives).</td></tr> : null}
          </tbody>
        </table>
      )}
    </section>
  );
}
