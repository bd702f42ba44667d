// Live data: every page re-reads what it shows on an interval (1.5 s), so it follows the queue
// without a reload, and shows the last refusal instead of stale data.
import { useCallback, useEffect, useRef, useState } from "react";

/** How often a page re-reads its data. */
export const POLL_MS = 1_500;

/** `load()` now and every POLL_MS while mounted; `key` restarts it (a new filter, a new id). */
export function usePoll<T>(load: () => Promise<T>, key: string): { data: T | undefined; error: Error | undefined; refresh: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current();
        if (!alive) return;
        setData(value);
        setError(undefined);
      } catch (failure) {
        if (alive) setError(failure as Error);
      }
      if (alive) timer = setTimeout(run, POLL_MS);
    };
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [key, tick]);

  useEffect(() => setData(undefined), [key]);
  return { data, error, refresh };
}

/** The location hash as a path ("#/jobs/123" → "/jobs/123"), updated on navigation. */
export function useHashPath(): string {
  const read = () => decodeURI(window.location.hash.replace(/^#/, "")) || "/";
  const [path, setPath] = useState(read);
  useEffect(() => {
    const update = () => setPath(read());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return path;
}
