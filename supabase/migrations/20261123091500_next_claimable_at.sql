-- leaseflow: when the next step becomes claimable. A worker that finds nothing to claim asks
-- this before it stops: a retry due in two seconds is better served by waiting two seconds than
-- by the next tick (5 s hosted; a minute where pg_cron has no second schedules).

create or replace function public.next_claimable_at(p_types text[] default null)
returns timestamptz
language sql stable
security definer
set search_path = ''
as $$
  -- Both probes are cheap when called as intended (nothing is due now): pending steps are then
  -- only those in retry backoff, and delayed jobs are read in run_at order from jobs_due_idx.
  select least(
    (select min(s.run_at)
       from public.job_steps s
       join public.jobs j on j.id = s.job_id
      where s.status = 'pending' and s.attempt < s.max_attempts and s.run_at is not null
        and j.status = 'running' and (p_types is null or j.type = any (p_types))),
    (select min(j.run_at)
       from public.jobs j
      where j.status = 'pending' and j.group_key is null and (p_types is null or j.type = any (p_types))))
$$;

comment on function public.next_claimable_at(text[]) is
  'The earliest run_at of a pending step (retry backoff) or delayed job of p_types (all when null); null when none is waiting. Group keys waiting for a rate window are not counted.';

revoke all on function public.next_claimable_at(text[]) from public, anon, authenticated;
grant execute on function public.next_claimable_at(text[]) to service_role;
