// Live data. A page follows one read of the jobs API (LeaseflowClient.follow): one Server-Sent
// Events stream that sends the data at once and again each time it changes, and shows the last
// refusal instead of stale data. The create form's type list, which changes only when a worker
// registers new types, is re-read on an interval instead.
import { useCallback, useEffect, useRef, useState } from "react";
import { LeaseflowClient } from "../../supabase/functions/_shared/leaseflow/client.ts";
import type { Client } from "./api.ts";

/** What a page shows: the latest data, the latest refusal (cleared by the next data), and
 * `refresh` to read it again at once (after an action). */
export interface Live<T> {
  data: T | undefined;
  error: Error | undefined;
  refresh: () => void;
}

/** Follows the jobs API's read `path` (null: nothing to read) while mounted; a new path starts over. */
export function useLive<T>(client: Client, path: string | null): Live<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    if (path === null) return;
    const stop = new AbortController();
    void new LeaseflowClient(client).follow<T>(path, {
      signal: stop.signal,
      onData: (value) => {
        setData(value);
        setError(undefined);
      },
      onError: setError,
    });
    return () => stop.abort();
  }, [client, path, tick]);

  useEffect(() => setData(undefined), [path]);
  return { data, error, refresh };
}

/** How often usePoll re-reads. */
export const POLL_MS = 5_000;

/** `load()` now and every POLL_MS while mounted. */
export function usePoll<T>(load: () => Promise<T>): { data: T | undefined; error: Error | undefined } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const loadRef = useRef(load);
  loadRef.current = load;
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
  }, []);
  return { data, error };
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
