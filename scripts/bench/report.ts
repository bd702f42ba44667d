// The benchmark's Markdown report (tables and the goals of issue 11, each checked against the
// figures) and its SVG bar chart, from the results object.
import type { EdgeFigures } from "./edge.ts";
import { STEADY_MINUTE, type SustainedMinute } from "./sustained.ts";

/** bench/results/latest.json. */
export interface Results {
  generated_at: string;
  duration_s: number;
  quick: boolean;
  machine: { cpus: number; cpu_model: string; memory_gib: number; node: string; postgres: string };
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  repetitions: number;
  drain_jobs: number;
  drain: Record<string, { jobs_per_s: number; steps_per_s: number }>;
  drain_runs: Record<string, { jobs_per_s: number[]; steps_per_s: number[] }>;
  sql_jobs_per_s: Record<string, number>;
  sql_runs: Record<string, number[]>;
  enqueue_jobs: number;
  enqueue_ms: Record<string, number>;
  enqueue_runs_ms: Record<string, number[]>;
  claim_ms: { empty: { p50: number; p95: number }; history: { p50: number; p95: number }; history_jobs: number };
  pickup_ms: Record<string, { p50: number; p95: number }>;
  edge: EdgeFigures;
  sustained: { rate: number; minutes: SustainedMinute[] };
}

const LABELS: Record<string, string> = {
  leaseflow: "leaseflow `npm run worker`, LEASEFLOW_CONCURRENCY=32",
  leaseflow_defaults: "leaseflow `npm run worker`, no settings",
  leaseflow_3_step: "leaseflow, 3-step jobs, LEASEFLOW_CONCURRENCY=32",
  graphile_worker: "graphile-worker, concurrency 32, best settings",
  pg_boss: "pg-boss, best settings",
};
// The enqueue and pick-up rows name what each system's figure measures.
const ENQUEUE_LABELS: Record<string, string> = {
  leaseflow: "leaseflow `enqueue_jobs` (postgres.js)",
  graphile_worker: "graphile-worker `add_jobs`",
  pg_boss: "pg-boss `insert`",
};
const PICKUP_LABELS: Record<string, string> = {
  leaseflow: "leaseflow Edge path (`enqueue_job`'s kick wakes an invocation)",
  graphile_worker: "graphile-worker runner (LISTEN/NOTIFY)",
  pg_boss: "pg-boss, 8 local workers (LISTEN/NOTIFY on)",
};
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US").replace(/,/g, " ") : "–");
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN);
/** a ÷ b to three decimals: for a ratio a goal's threshold is checked against, so the figure shown
 * never rounds across it (0.4956 is shown as 0.496, not 0.5). */
const ratio3 = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : Number.NaN);

/** Issue 11's goals, each with the measured figure and whether it is met. */
export function goals(r: Results): { goal: string; result: string; met: boolean }[] {
  const lf = r.drain.leaseflow!.jobs_per_s;
  const gw = r.drain.graphile_worker!.jobs_per_s;
  const boss = r.drain.pg_boss!.jobs_per_s;
  const defaults = r.drain.leaseflow_defaults!.jobs_per_s;
  const threeStep = r.drain.leaseflow_3_step!.steps_per_s;
  const sqlShare = ratio3(r.sql_jobs_per_s.leaseflow_100!, r.sql_jobs_per_s.limit_100!);
  const minutes = r.sustained.minutes;
  const first = minutes[0];
  const last = minutes.at(-1);
  const claimRatio = first && last ? ratio3(last.claim_p95_ms, first.claim_p95_ms) : Number.NaN;
  // Table sizes are judged from the steady minute on (see STEADY_MINUTE): flat when no later
  // minute is more than a fifth above it, the claim p95's tolerance. Minute 1 is shown beside
  // them, as the size before any job was pruned.
  const steady = minutes[STEADY_MINUTE - 1];
  const later = minutes.slice(STEADY_MINUTE);
  const largest = later.length > 0 ? Math.max(...later.map((m) => m.tables_mib)) : Number.NaN;
  const sizeRatio = steady ? ratio3(largest, steady.tables_mib) : Number.NaN;
  const sizes = steady && later.length > 0
    ? `tables ${steady.tables_mib} MiB in minute ${STEADY_MINUTE}, at most ${largest} after (${sizeRatio}×; ${first!.tables_mib} in minute 1, before any job was pruned)`
    : `tables not judged: the run is shorter than ${STEADY_MINUTE + 1} minutes`;
  return [
    { goal: "`npm run worker` (LEASEFLOW_CONCURRENCY=32) vs graphile-worker ≥ 1.0×", result: `${ratio(lf, gw)}× (${fmt(lf)} vs ${fmt(gw)} jobs/s)`, met: lf >= gw },
    { goal: "same vs pg-boss ≥ 1.0×", result: `${ratio(lf, boss)}× (${fmt(lf)} vs ${fmt(boss)} jobs/s)`, met: lf >= boss },
    { goal: "`npm run worker` with no settings vs graphile-worker ≥ 0.5×", result: `${ratio(defaults, gw)}×`, met: defaults >= gw / 2 },
    { goal: "SQL only vs the limit at 100 per claim ≥ 0.5", result: `${sqlShare} (${fmt(r.sql_jobs_per_s.leaseflow_100!)} vs ${fmt(r.sql_jobs_per_s.limit_100!)} jobs/s)`, met: r.sql_jobs_per_s.leaseflow_100! >= 0.5 * r.sql_jobs_per_s.limit_100! },
    { goal: "3-step jobs: steps/s ÷ 1-step jobs/s ≥ 0.8", result: `${ratio3(threeStep, lf)} (${fmt(threeStep)} steps/s)`, met: threeStep >= 0.8 * lf },
    {
      goal: "one Edge invocation ≥ 3 000 steps/s; the fan-out ≥ 2× one",
      result: `${fmt(r.edge.steps_per_s_one_invocation)} steps/s; fan-out ${fmt(r.edge.steps_per_s_fan_out)} (${ratio(r.edge.steps_per_s_fan_out, r.edge.steps_per_s_one_invocation)}×)` +
        ` (with ${r.edge.io_handler_ms} ms handlers, not judged: fan-out ${ratio(r.edge.io_steps_per_s_fan_out, r.edge.io_steps_per_s_one_invocation)}× one)`,
      met: r.edge.steps_per_s_one_invocation >= 3_000 && r.edge.steps_per_s_fan_out >= 2 * r.edge.steps_per_s_one_invocation,
    },
    {
      goal: `enqueue ${fmt(r.enqueue_jobs)} in one call < 1 000 ms and ≤ graphile-worker's add_jobs`,
      result: `${fmt(r.enqueue_ms.leaseflow!)} ms (graphile-worker ${fmt(r.enqueue_ms.graphile_worker!)}, pg-boss ${fmt(r.enqueue_ms.pg_boss!)})`,
      met: r.enqueue_ms.leaseflow! < 1_000 && r.enqueue_ms.leaseflow! <= r.enqueue_ms.graphile_worker!,
    },
    {
      goal: `sustained ${minutes.length} min: claim p95 last minute ÷ first ≤ 1.2, table sizes flat (from minute ${STEADY_MINUTE}: none later > 1.2× it)`,
      result: `${claimRatio} (${first?.claim_p95_ms} → ${last?.claim_p95_ms} ms); ${sizes}`,
      met: !!first && !!last && last.claim_p95_ms <= 1.2 * first.claim_p95_ms && sizeRatio <= 1.2,
    },
    {
      goal: "Edge pick-up p50 / idle invocations no worse (33 ms / 0)",
      result: `${r.pickup_ms.leaseflow!.p50} ms / ${r.edge.idle_invocations}`,
      met: r.pickup_ms.leaseflow!.p50 <= 33 && r.edge.idle_invocations === 0,
    },
  ];
}

/** The Markdown report. */
export function markdown(r: Results): string {
  const limit10 = r.sql_jobs_per_s.limit_10!;
  const limit100 = r.sql_jobs_per_s.limit_100!;
  return [
    `Machine: ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, Node ${r.machine.node}, ${r.machine.postgres.split(" on ")[0]}.`,
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}. Medians of ${r.repetitions} interleaved repetitions${r.quick ? " (--quick: smaller workloads)" : ""}; run of ${r.generated_at.slice(0, 10)}, ${r.duration_s} s.`,
    "",
    `| Drain ${fmt(r.drain_jobs)} pre-enqueued no-op jobs | jobs/s | steps/s |`,
    "|---|---:|---:|",
    ...Object.entries(r.drain).map(([name, v]) => `| ${LABELS[name] ?? name} | ${fmt(v.jobs_per_s)} | ${fmt(v.steps_per_s)} |`),
    "",
    "| pgbench, 8 clients: claim + complete | 10 per claim, jobs/s | 100 per claim, jobs/s |",
    "|---|---:|---:|",
    `| the limit (one table, two indexed statements) | ${fmt(limit10)} | ${fmt(limit100)} |`,
    `| leaseflow's SQL only (claim_steps + complete_steps) | ${fmt(r.sql_jobs_per_s.leaseflow_10!)} (${ratio(r.sql_jobs_per_s.leaseflow_10!, limit10)}) | ${fmt(r.sql_jobs_per_s.leaseflow_100!)} (${ratio(r.sql_jobs_per_s.leaseflow_100!, limit100)}) |`,
    "",
    `| Enqueue ${fmt(r.enqueue_jobs)} jobs in one call | ms |`,
    "|---|---:|",
    ...Object.entries(r.enqueue_ms).map(([name, ms]) => `| ${ENQUEUE_LABELS[name] ?? name} | ${fmt(ms)} |`),
    "",
    "| Pick-up latency, idle queue, steady single enqueues (client clock) | p50 ms | p95 ms |",
    "|---|---:|---:|",
    ...Object.entries(r.pickup_ms).map(([name, v]) => `| ${PICKUP_LABELS[name] ?? name} | ${v.p50} | ${v.p95} |`),
    "",
    "| leaseflow claim latency, `claim_steps(1)` | p50 ms | p95 ms |",
    "|---|---:|---:|",
    `| no history | ${r.claim_ms.empty.p50} | ${r.claim_ms.empty.p95} |`,
    `| ${fmt(r.claim_ms.history_jobs)} finished jobs | ${r.claim_ms.history.p50} | ${r.claim_ms.history.p95} |`,
    "",
    "| leaseflow Edge path (local gateway: Deno processes, up to one per CPU) | |",
    "|---|---:|",
    `| cold start: fresh function process → first claim | ${fmt(r.edge.cold_start_ms)} ms |`,
    `| steps/s, one invocation (${fmt(r.edge.jobs)} one-step jobs) | ${fmt(r.edge.steps_per_s_one_invocation)} |`,
    `| steps/s, the tick's fan-out (${r.edge.fan_out_invocations} invocations) | ${fmt(r.edge.steps_per_s_fan_out)} |`,
    `| steps/s, one invocation, handlers waiting ${r.edge.io_handler_ms} ms (${fmt(r.edge.io_jobs)} jobs) | ${fmt(r.edge.io_steps_per_s_one_invocation)} |`,
    `| steps/s, the tick's fan-out, handlers waiting ${r.edge.io_handler_ms} ms (${r.edge.io_fan_out_invocations} invocations) | ${fmt(r.edge.io_steps_per_s_fan_out)} |`,
    `| invocations per 1 000 jobs (fan-out run, counted) | ${r.edge.invocations_per_1000_jobs} |`,
    `| invocations during ${r.edge.idle_window_s} s of idle ticks | ${r.edge.idle_invocations} |`,
    "",
    `| Sustained: ${fmt(r.sustained.rate)} jobs/s for ${r.sustained.minutes.length} min, retention 1 min | enqueued | completed | backlog | claim p50 / p95 ms | jobs rows | steps rows | MiB |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...r.sustained.minutes.map((m) => `| minute ${m.minute} | ${fmt(m.enqueued)} | ${fmt(m.completed)} | ${fmt(m.backlog)} | ${m.claim_p50_ms} / ${m.claim_p95_ms} | ${fmt(m.jobs_rows)} | ${fmt(m.job_steps_rows)} | ${m.tables_mib} |`),
    "",
    "| Goal (issue 11) | Result | |",
    "|---|---|---|",
    ...goals(r).map((g) => `| ${g.goal} | ${g.result} | ${g.met ? "met" : "not met"} |`),
    "",
  ].join("\n");
}

/** A bar chart of drain throughput, one bar per system. */
export function svgChart(r: Results): string {
  const systems = Object.keys(r.drain);
  const colors = ["#3ecf8e", "#34a56f", "#9be3c4", "#6b7280", "#f59e0b"];
  const values = systems.map((s) => (s === "leaseflow_3_step" ? r.drain[s]!.steps_per_s : r.drain[s]!.jobs_per_s));
  const max = Math.max(...values);
  const width = 720, rowHeight = 34, left = 330, top = 40;
  const height = top + systems.length * rowHeight + 20;
  const scale = (v: number) => (v / max) * (width - left - 90);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">Drain ${fmt(r.drain_jobs)} no-op jobs, medians: jobs/s (3-step: steps/s), higher is better</text>`,
  ];
  systems.forEach((system, i) => {
    const y = top + i * rowHeight;
    const label = (LABELS[system] ?? system).replace(/`/g, "");
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${label}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${scale(values[i]!)}" height="${rowHeight - 10}" fill="${colors[i % colors.length]}"/>`);
    parts.push(`<text x="${left + scale(values[i]!) + 6}" y="${y + 17}">${fmt(values[i]!)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
