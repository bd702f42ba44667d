-- leaseflow: sweep(), the maintenance pass (the worker tick calls it).
--
--   1. resets lapsed leases (failing steps whose attempts are used up, with their jobs);
--   2. advances group keys whose head became due or whose rate window reopened;
--   3. starts delayed jobs without a key whose run_at has come;
--   4. deletes finished jobs older than leaseflow_settings.retention (with their steps and
--      attempts), at most prune_batch_size per call, oldest first;
--   5. deletes pg_cron's run history older than the same retention, when pg_cron is installed
--      (its job_run_details table otherwise grows by one row per run, forever).

create or replace function public.sweep()
returns jsonb
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_settings public.leaseflow_settings;
  v_leases record;
  v_lanes_started int;
  v_jobs_started int;
  v_jobs_pruned int;
  v_cron_pruned int := 0;
  v_cron_history regclass;
begin
  select * into v_settings from public.leaseflow_settings;
  select * into v_leases from public._expire_leases();
  v_lanes_started := public._advance_due_lanes();
  v_jobs_started := public._start_due_jobs(10000);

  -- Locked as read, SKIP LOCKED: two sweeps at once (the tick's and an app's) each delete rows
  -- the other does not hold, instead of deleting the same rows in different orders: that
  -- deadlocked in the sustained benchmark (40P01 while deleting a job: its sweep() against
  -- pg_cron's tick()). A finished job another transaction holds waits for the next sweep.
  with old as (
    select j.id
      from public.jobs j
     where j.finished_at < now() - v_settings.retention
       and j.status in ('completed', 'failed', 'cancelled')
     order by j.finished_at
     limit v_settings.prune_batch_size
       for update of j skip locked
  ), deleted as (
    delete from public.jobs j using old where j.id = old.id returning 1
  )
  select count(*) into v_jobs_pruned from deleted;

  -- Dynamic SQL on the resolved table: pg_cron may not be installed (no cron schema then).
  v_cron_history := to_regclass('cron.job_run_details');
  if v_cron_history is not null then
    execute format('delete from %s where end_time < $1', v_cron_history) using now() - v_settings.retention;
    get diagnostics v_cron_pruned = row_count;
  end if;

  return jsonb_build_object(
    'leases_reclaimed', v_leases.reclaimed,
    'steps_failed', v_leases.failed,
    'lane_jobs_started', v_lanes_started,
    'due_jobs_started', v_jobs_started,
    'jobs_pruned', v_jobs_pruned,
    'cron_runs_pruned', v_cron_pruned);
end;
$$;

comment on function public.sweep() is
  'Maintenance: resets lapsed leases, starts jobs whose time or turn came, prunes finished jobs and pg_cron history past the retention. Returns what it did as JSON counts.';

revoke all on function public.sweep() from public, anon, authenticated;
grant execute on function public.sweep() to service_role;
