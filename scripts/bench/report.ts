// The benchmark's Markdown table and SVG bar chart, from the results object.

/** The parts of bench/results/latest.json the report shows. */
export interface Results {
  quick: boolean;
  machine: { cpus: number; cpu_model: string; memory_gib: number; node: string; postgres: string };
  versions: Record<string, string>;
  drain_jobs_per_s: Record<string, { c8: number; c32: number }>;
  enqueue_50k_ms: Record<string, number>;
  enqueue_jobs: number;
  claim_ms: { empty: { p50: number; p95: number }; history_1m: { p50: number; p95: number }; history_jobs: number };
  pickup_ms: Record<string, { p50: number; p95: number }>;
  edge: Record<string, number>;
  repetitions: number;
  drain_jobs: number;
}

const LABELS: Record<string, string> = {
  leaseflow: "leaseflow",
  graphile_worker: "graphile-worker",
  pg_boss: "pg-boss",
  pgbench_limit: "pgbench limit",
};
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US").replace(/,/g, " ") : "–");

/** A Markdown report: drain, enqueue, pick-up, history, edge. */
export function markdown(r: Results): string {
  const limit = r.drain_jobs_per_s.pgbench_limit!;
  const lines = [
    `Machine: ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, Node ${r.machine.node}, ${r.machine.postgres.split(" on ")[0]}.`,
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}. Medians of ${r.repetitions} interleaved repetitions${r.quick ? " (--quick: smaller workloads)" : ""}.`,
    "",
    `| Drain ${fmt(r.drain_jobs)} no-op jobs | jobs/s, concurrency 8 | jobs/s, concurrency 32 | share of the pgbench limit (8 / 32) |`,
    "|---|---:|---:|---:|",
    ...Object.entries(r.drain_jobs_per_s).map(([name, v]) =>
      `| ${LABELS[name] ?? name} | ${fmt(v.c8)} | ${fmt(v.c32)} | ${name === "pgbench_limit" ? "1.00 / 1.00" : `${(v.c8 / limit.c8).toFixed(2)} / ${(v.c32 / limit.c32).toFixed(2)}`} |`),
    "",
    `| Enqueue ${fmt(r.enqueue_jobs)} jobs in one call | ms |`,
    "|---|---:|",
    ...Object.entries(r.enqueue_50k_ms).map(([name, ms]) => `| ${LABELS[name] ?? name} | ${fmt(ms)} |`),
    "",
    "| Pick-up latency, idle queue, steady single enqueues | p50 ms | p95 ms |",
    "|---|---:|---:|",
    ...Object.entries(r.pickup_ms).map(([name, v]) => `| ${LABELS[name] ?? name} | ${v.p50} | ${v.p95} |`),
    "",
    "| leaseflow claim latency, `claim_steps(1)` | p50 ms | p95 ms |",
    "|---|---:|---:|",
    `| no history | ${r.claim_ms.empty.p50} | ${r.claim_ms.empty.p95} |`,
    `| ${fmt(r.claim_ms.history_jobs)} finished jobs | ${r.claim_ms.history_1m.p50} | ${r.claim_ms.history_1m.p95} |`,
    "",
    "| leaseflow Edge path (local gateway, one Deno process) | |",
    "|---|---:|",
    `| cold start: fresh function process → first claim | ${fmt(r.edge.cold_start_ms!)} ms |`,
    `| steps/s, one invocation | ${fmt(r.edge.steps_per_s_one_invocation!)} |`,
    `| steps/s, the tick's fan-out (${r.edge.fan_out_invocations} invocations) | ${fmt(r.edge.steps_per_s_fan_out!)} |`,
    `| invocations per 1 000 jobs (fan-out run) | ${r.edge.invocations_per_1000_jobs} |`,
    `| invocations during ${r.edge.idle_window_s} s of idle ticks | ${r.edge.idle_minute_invocations} |`,
    "",
  ];
  return lines.join("\n");
}

/** A grouped bar chart of drain throughput: one group per concurrency, one bar per system. */
export function svgChart(r: Results): string {
  const systems = Object.keys(r.drain_jobs_per_s);
  const colors = ["#3ecf8e", "#6b7280", "#f59e0b", "#94a3b8"];
  const groups = ["c8", "c32"] as const;
  const max = Math.max(...systems.flatMap((s) => groups.map((g) => r.drain_jobs_per_s[s]![g])));
  const width = 640, height = 320, left = 60, bottom = 40, top = 40, barWidth = 50, gap = 70;
  const plotHeight = height - top - bottom;
  const scale = (v: number) => (v / max) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">Drain ${fmt(r.drain_jobs)} no-op jobs: jobs/s (higher is better)</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#333"/>`,
  ];
  groups.forEach((group, g) => {
    const groupX = left + 20 + g * (systems.length * barWidth + gap);
    systems.forEach((system, s) => {
      const value = r.drain_jobs_per_s[system]![group];
      const x = groupX + s * barWidth;
      const h = scale(value);
      parts.push(`<rect x="${x}" y="${height - bottom - h}" width="${barWidth - 6}" height="${h}" fill="${colors[s % colors.length]}"/>`);
      parts.push(`<text x="${x + (barWidth - 6) / 2}" y="${height - bottom - h - 4}" text-anchor="middle">${fmt(value)}</text>`);
    });
    parts.push(`<text x="${groupX + (systems.length * barWidth) / 2}" y="${height - bottom + 18}" text-anchor="middle">concurrency ${group.slice(1)}</text>`);
  });
  systems.forEach((system, s) => {
    const x = width - 150, y = top + 10 + s * 18;
    parts.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${colors[s % colors.length]}"/>`);
    parts.push(`<text x="${x + 18}" y="${y}">${LABELS[system] ?? system}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
