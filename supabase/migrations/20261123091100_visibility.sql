-- leaseflow: what users and operators see: a job's place in the queue, and Studio-friendly
-- views. The views are security_invoker, so RLS applies: an authenticated user sees its own
-- tenant's rows and figures only.

-- Jobs completed per second over the last 5 minutes: the rate that turns a queue position
-- into a wait. Null when nothing completed recently.
create or replace function public._recent_completions_per_second(p_type text)
returns float8
language sql stable
set search_path = ''
as $$
  select nullif(count(*), 0) / 300.0
    from public.jobs j
   where j.finished_at > now() - interval '5 minutes'
     and j.status = 'completed'
     and (p_type is null or j.type = p_type)
$$;

create or replace function public.job_queue_position(p_job_id uuid)
returns table (queue_position int, estimated_wait interval)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
  fn constant text := 'job_queue_position';
  v_job public.jobs;
  v_first record;
  v_ahead int;
  v_rate float8;
  v_avg_seconds float8;
  v_concurrency int;
begin
  v_job := public._visible_job(fn, p_job_id);

  -- Finished, or already being worked on: nothing ahead of it.
  if v_job.status in ('completed', 'failed', 'cancelled') or v_job.locked_by is not null
     or exists (select 1 from public.job_steps s where s.job_id = p_job_id and s.status <> 'pending') then
    return query select 0, interval '0';
    return;
  end if;

  if v_job.status = 'pending' and v_job.group_key is not null then
    -- Waiting for its turn in its key: the key's unfinished jobs ahead of it run first, a
    -- type's recent average duration each, `group_concurrency` at a time.
    select count(*) into v_ahead
      from public.jobs j
     where public._lane_tenant(j.tenant_id) = public._lane_tenant(v_job.tenant_id)
       and j.group_key = v_job.group_key
       and j.status in ('pending', 'running')
       and j.enqueue_order < v_job.enqueue_order;
    select avg(extract(epoch from j.finished_at - j.started_at)) into v_avg_seconds
      from public.jobs j
     where j.type = v_job.type and j.status = 'completed' and j.finished_at > now() - interval '1 hour';
    select t.group_concurrency into v_concurrency from public.job_types t where t.type = v_job.type;
    return query select v_ahead + 1,
      case when v_ahead = 0 then interval '0'
           when v_avg_seconds is null then null
           else make_interval(secs => v_ahead * v_avg_seconds / coalesce(v_concurrency, 1)) end;
    return;
  end if;

  -- In the claim order: the claimable steps that come before its first step. A job waiting for
  -- its run_at has no steps yet; it is placed as if it joined the queue now (_queue_turn), or
  -- at its run_at with fair claiming off.
  if v_job.step_name is not null then
    -- A job that is its own step holds its place itself.
    select v_job.queue_rank, v_job.queue_at, v_job.enqueue_order as step_order into v_first;
  else
    select s.queue_rank, s.queue_at, s.step_order into v_first
      from public.job_steps s where s.job_id = p_job_id order by s.seq, s.step_order limit 1;
  end if;
  -- Likewise a job whose step waits to retry: it takes a turn when due.
  if v_first is null or v_first.queue_at is null then
    select q.queue_rank, coalesce(q.first_turn_at, v_job.run_at) as queue_at, null::bigint as step_order into v_first
      from public._queue_turn(v_job.tenant_id, v_job.priority) q;
  end if;
  select (select count(*)
    from public.job_steps s
   where s.status = 'pending' and s.attempt < s.max_attempts and s.queue_at is not null
     and s.job_id <> p_job_id
     and (s.queue_rank, s.queue_at) <= (v_first.queue_rank, v_first.queue_at)
     and ((s.queue_rank, s.queue_at) < (v_first.queue_rank, v_first.queue_at)
          or s.priority > v_job.priority
          or (s.priority = v_job.priority and (v_first.step_order is null or s.step_order < v_first.step_order))))
  -- Jobs that are their own step, in the same order (each type's queue: jobs_claimable_idx).
  + (select count(*)
       from public.jobs o
      where o.type = any (public._claim_queue_types(null))
        and o.status = 'running' and o.locked_by is null and o.queue_at is not null
        and o.id <> p_job_id
        and (o.queue_rank, o.queue_at) <= (v_first.queue_rank, v_first.queue_at)
        and ((o.queue_rank, o.queue_at) < (v_first.queue_rank, v_first.queue_at)
             or o.priority > v_job.priority
             or (o.priority = v_job.priority and (v_first.step_order is null or o.enqueue_order < v_first.step_order))))
    into v_ahead;
  v_rate := public._recent_completions_per_second(null);
  -- greatest() skips nulls, so an unknown rate must stay null explicitly: with jobs ahead and
  -- no recent completions the wait is unknown, not "run_at - now()" (which is negative).
  return query select v_ahead + 1,
    case when v_ahead = 0 then greatest(v_job.run_at - now(), interval '0')
         when v_rate is null then null
         else greatest(v_job.run_at - now(), make_interval(secs => v_ahead / v_rate)) end;
end;
$$;

comment on function public.job_queue_position(uuid) is
  'Where a job waits: 1 + the unfinished jobs ahead of it in its group key (or the claimable steps ahead of it globally), and the wait that recent throughput predicts (null when unknown). 0 once it runs or finished.';

-- The attempts that did not complete their step are rows of step_attempts; the completing and
-- the running attempt are the step row itself.
create view public.job_timeline with (security_invoker = true) as
select s.job_id, s.id as step_id, s.seq, s.name as step_name, a.attempt, a.worker_id,
       a.started_at, a.finished_at, a.outcome, a.error
  from public.step_attempts a
  join public.all_steps s on s.id = a.step_id
union all
select s.job_id, s.id, s.seq, s.name, s.attempt,
       case when s.status = 'running' then s.locked_by else s.completed_by end,
       s.started_at, case when s.status = 'completed' then s.finished_at end, s.status, null
  from public.all_steps s
 where s.status in ('running', 'completed');

comment on view public.job_timeline is
  'Every attempt of every step (one row each; the attempt in progress has outcome running): filter by job_id, order by started_at.';

create view public.dead_letter with (security_invoker = true) as
select j.id as job_id, j.type, j.tenant_id, j.group_key, j.payload, j.error,
       j.error ->> 'message' as last_error, j.finished_at as failed_at, j.created_at,
       (select count(*) from public.step_attempts a where a.job_id = j.id)
         + (select count(*) from public.all_steps s where s.job_id = j.id and s.status = 'completed') as attempts
  from public.jobs j
 where j.status = 'failed';

comment on view public.dead_letter is
  'Failed jobs with their last error; redrive one with retry_job(job_id).';

-- The job types the worker Edge Function handles, as its latest invocation registered them
-- (workers.metadata.types); null until an invocation has registered its types. PL/pgSQL, bound
-- at its first call: the workers table is created after this file.
create or replace function public._edge_worker_types()
returns text[]
language plpgsql stable
set search_path = ''
as $$
begin
  return (select array(select jsonb_array_elements_text(w.metadata -> 'types'))
            from public.workers w
           where w.kind = 'edge' and jsonb_typeof(w.metadata -> 'types') = 'array'
           order by w.started_at desc
           limit 1);
end;
$$;

-- The job types some worker can claim: the worker Edge Function's (while Edge workers are on) and
-- each live Node worker's. Null while that is unknown: Edge workers are on and no invocation has
-- registered its types yet (the first one woken does).
create or replace function public.claimable_job_types()
returns text[]
language plpgsql stable
security definer
set search_path = ''
as $$
declare
  v_settings public.leaseflow_settings;
  v_edge text[];
begin
  select * into v_settings from public.leaseflow_settings;
  if v_settings.max_invocations > 0 then
    v_edge := public._edge_worker_types();
    if v_edge is null then
      return null;
    end if;
  end if;
  return array(
    select distinct t.type
      from (select unnest(v_edge) as type
            union all
            select jsonb_array_elements_text(w.metadata -> 'types')
              from public.workers w
             where w.kind = 'node' and w.stopped_at is null
               and w.last_heartbeat_at > now() - v_settings.live_worker_window
               and jsonb_typeof(w.metadata -> 'types') = 'array') t
     order by 1);
end;
$$;

comment on function public.claimable_job_types() is
  'The job types some worker can claim: the worker Edge Function''s (as its latest invocation registered them) and each live Node worker''s; null while unknown (Edge workers on, none registered yet).';

-- When a job was first claimed: the earliest start of any attempt of its steps. A step row holds
-- its latest attempt's start and step_attempts the earlier ones' (a retried, expired or released
-- attempt). jobs.started_at is when the job was admitted, before it waited for a worker.
create or replace function public.job_first_claimed_at(p_job_id uuid)
returns timestamptz
language sql stable
set search_path = ''
as $$
  select least((select min(s.started_at) from public.all_steps s where s.job_id = p_job_id),
               (select min(a.started_at) from public.step_attempts a where a.job_id = p_job_id))
$$;

comment on function public.job_first_claimed_at(uuid) is
  'When a worker first claimed one of the job''s steps (the earliest attempt start); null while none has been.';

create view public.queue_stats with (security_invoker = true) as
with attempts as (
  select j.type,
         count(*) filter (where a.outcome = 'retried') as retries_60m,
         count(*) filter (where a.outcome = 'lease_expired') as lease_expiries_60m
    from public.step_attempts a
    join public.jobs j on j.id = a.job_id
   where a.finished_at > now() - interval '1 hour'
   group by j.type
), jobs as (
  select j.type,
         count(*) filter (where j.status = 'pending') as pending,
         count(*) filter (where j.status = 'running') as running,
         count(*) filter (where j.status = 'completed') as completed,
         count(*) filter (where j.status = 'failed') as failed,
         count(*) filter (where j.status = 'cancelled') as cancelled,
         count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '1 minute')::numeric
           as throughput_per_min_1m,
         round(count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '5 minutes') / 5.0, 2)
           as throughput_per_min_5m,
         round(count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '1 hour') / 60.0, 2)
           as throughput_per_min_60m,
         round(count(*) filter (where j.status = 'completed' and j.finished_at > now() - interval '1 hour')::numeric
               / nullif(count(*) filter (where j.status in ('completed', 'failed') and j.finished_at > now() - interval '1 hour'), 0), 4)
           as success_rate_60m,
         now() - min(j.created_at) filter (where j.status = 'pending') as oldest_pending_age
    from public.jobs j
   group by j.type
), timing as (
  -- Each type's latest 1 000 jobs completed in the last hour (newest first from
  -- jobs_finished_at_idx): waiting from when they could run (enqueued, or their run_at if later)
  -- to their first claim, processing from there to the end. A first claim costs two lookups a job;
  -- over all of an hour's jobs that was 4 s for 300 000, on every read of a live dashboard.
  select jobs.type,
         round(avg(extract(epoch from c.first_claimed_at - greatest(j.created_at, j.run_at)) * 1000)::numeric, 1)
           as avg_wait_ms_60m,
         round(avg(extract(epoch from j.finished_at - c.first_claimed_at) * 1000)::numeric, 1)
           as avg_processing_ms_60m
    from jobs
    cross join lateral (select j.id, j.created_at, j.run_at, j.finished_at
                          from public.jobs j
                         where j.type is not distinct from jobs.type and j.status = 'completed'
                           and j.finished_at > now() - interval '1 hour'
                         order by j.finished_at desc
                         limit 1000) j
    cross join lateral (select public.job_first_claimed_at(j.id) as first_claimed_at) c
   group by jobs.type
), due as (
  -- Steps that could be claimed now, were there a worker for them.
  select d.type, count(*) as steps
    from (select j.type
            from public.job_steps s
            join public.jobs j on j.id = s.job_id
           where s.status = 'pending' and s.attempt < s.max_attempts and s.run_at <= now() and j.status = 'running'
          union all
          -- Jobs that are their own step.
          select j.type
            from public.jobs j
           where j.status = 'running' and j.locked_by is null and j.step_name is not null and j.run_at <= now()) d
   group by d.type
), claimable as (
  select public.claimable_job_types() as types
)
select jobs.type, jobs.pending, jobs.running, jobs.completed, jobs.failed, jobs.cancelled,
       timing.avg_wait_ms_60m, timing.avg_processing_ms_60m, jobs.throughput_per_min_1m, jobs.throughput_per_min_5m,
       jobs.throughput_per_min_60m, jobs.success_rate_60m,
       coalesce(attempts.retries_60m, 0) as retries_60m,
       coalesce(attempts.lease_expiries_60m, 0) as lease_expiries_60m,
       jobs.oldest_pending_age,
       -- Due steps no worker can claim: of a type no worker handles, or made by hand (no type:
       -- workers claim their registered types only).
       case when jobs.type is null or (claimable.types is not null and not jobs.type = any (claimable.types))
            then coalesce(due.steps, 0) else 0 end as unclaimable_steps
  from jobs
  cross join claimable
  left join attempts on attempts.type is not distinct from jobs.type
  left join timing on timing.type is not distinct from jobs.type
  left join due on due.type is not distinct from jobs.type;

comment on view public.queue_stats is
  'Per job type: jobs by status, and over recent windows: average wait (due to first claim) and processing time (first claim to finish) of its latest 1 000 jobs completed in the last hour, completions per minute, success rate, retries, lease expiries, oldest pending age; and the due steps no worker can claim (unclaimable_steps).';

revoke all on function public._recent_completions_per_second(text) from public, anon, authenticated, service_role;
revoke all on function public._edge_worker_types() from public, anon, authenticated, service_role;
revoke all on function public.claimable_job_types() from public, anon;
grant execute on function public.claimable_job_types() to authenticated, service_role;
revoke all on function public.job_first_claimed_at(uuid) from public, anon;
grant execute on function public.job_first_claimed_at(uuid) to authenticated, service_role;
revoke all on function public.job_queue_position(uuid) from public, anon;
grant execute on function public.job_queue_position(uuid) to authenticated, service_role;

revoke all on table public.job_timeline, public.dead_letter, public.queue_stats from public, anon, authenticated;
grant select on table public.job_timeline, public.dead_letter, public.queue_stats to authenticated, service_role;
