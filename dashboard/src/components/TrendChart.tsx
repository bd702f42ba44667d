// Completed and failed jobs per minute over the last hour (job_throughput), drawn with uPlot.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Throughput } from "../api.ts";

export function TrendChart({ points }: { points: Throughput[] }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    if (!box.current) return;
    chart.current = new uPlot(
      {
        width: Math.max(320, box.current.clientWidth),
        height: 180,
        series: [
          {},
          { label: "completed", stroke: "#2f855a", width: 2 },
          { label: "failed", stroke: "#c53030", width: 2 },
        ],
        axes: [{}, { label: "jobs / min" }],
      },
      [[], [], []],
      box.current,
    );
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    chart.current?.setData([
      points.map((point) => Date.parse(point.minute) / 1000),
      points.map((point) => point.completed),
      points.map((point) => point.failed),
    ]);
  }, [points]);

  return <div ref={box} className="chart" role="img" aria-label="completed and failed jobs per minute over the last hour" />;
}
