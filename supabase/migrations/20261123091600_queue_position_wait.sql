-- leaseflow: job_queue_position's estimated wait was negative (run_at - now()) for a due job
-- with jobs ahead of it and no recent completions; it is now null (unknown) there, and never
-- below zero. The function is otherwise unchanged.

create or replace function public.job_queue_position(p_job_id uuid)
returns table (queue_position int, estimated_wait interval)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
  fn constant text := 'job_queue_position';
  v_job public.jobs;
  v_first public.job_steps;
  v_ahead int;
  v_rate float8;
  v_avg_seconds float8;
  v_concurrency int;
begin
  v_job := public._visible_job(fn, p_job_id);

  -- Finished, or already being worked on: nothing ahead of it.
  if v_job.status in ('completed', 'failed', 'cancelled')
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

  -- In the global order: the claimable steps that come before its first step.
  select * into v_first from public.job_steps s where s.job_id = p_job_id order by s.seq, s.step_order limit 1;
  select count(*) into v_ahead
    from public.job_steps s
   where s.status = 'pending' and s.attempt < s.max_attempts and s.run_at is not null
     and s.job_id <> p_job_id
     and (s.priority > v_job.priority
          or (s.priority = v_job.priority
              and (s.run_at, s.created_at, s.step_order) < (v_job.run_at, v_first.created_at, v_first.step_order)));
  v_rate := public._recent_completions_per_second(null);
  -- greatest() skips nulls, so an unknown rate must stay null explicitly: with jobs ahead and
  -- no recent completions the wait is unknown, not "run_at - now()" (which is negative).
  return query select v_ahead + 1,
    case when v_ahead = 0 then greatest(v_job.run_at - now(), interval '0')
         when v_rate is null then null
         else greatest(v_job.run_at - now(), make_interval(secs => v_ahead / v_rate)) end;
end;
$$;

