-- leaseflow: cancel_job and retry_job (the dead-letter redrive).
--
-- Both may be called by service_role for any job and by an authenticated user for the jobs of
-- its own tenant; another tenant's job is "not found". Errors: PT404 (not found), PT409 (the job
-- is not in a state the transition starts from); PostgREST answers them with HTTP 404 / 409.

-- The job p_job_id as the caller may see it: service_role sees every job, an authenticated
-- user its own tenant's; anything else is "not found" (PT404), so ids of other tenants leak nothing.
create or replace function public._visible_job(p_function text, p_job_id uuid)
returns public.jobs
language plpgsql stable
set search_path = ''
as $$
declare
  v_tenant uuid;
  v_job public.jobs;
begin
  perform public._require_id(p_function, 'p_job_id', p_job_id);
  v_tenant := public._caller_tenant(p_function);
  select * into v_job from public.jobs j
   where j.id = p_job_id and (v_tenant is null or j.tenant_id = v_tenant);
  if not found then
    raise exception '%: job % not found', p_function, p_job_id using errcode = 'PT404';
  end if;
  return v_job;
end;
$$;

-- The visible job p_job_id, locked for a transition (lock order: its lane, then the job).
create or replace function public._lock_job_for_caller(p_function text, p_job_id uuid)
returns public.jobs
language plpgsql volatile
set search_path = ''
as $$
declare
  v_job public.jobs := public._visible_job(p_function, p_job_id);
begin
  perform public._lock_job(v_job.id, v_job.tenant_id, v_job.group_key);
  -- Read again under the lock: the row may have changed while we waited for it.
  select * into v_job from public.jobs j where j.id = p_job_id;
  return v_job;
end;
$$;

create or replace function public.cancel_job(p_job_id uuid, p_reason text default null)
returns public.jobs
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'cancel_job';
  v_job public.jobs;
  v_error jsonb;
begin
  if length(p_reason) > 1000 then
    raise exception '%: p_reason must be at most 1000 characters, got %', fn, length(p_reason)
      using errcode = 'invalid_parameter_value';
  end if;
  v_job := public._lock_job_for_caller(fn, p_job_id);
  if v_job.status not in ('pending', 'running') then
    raise exception '%: job % is already %; only pending or running jobs can be cancelled', fn, p_job_id, v_job.status
      using errcode = 'PT409';
  end if;

  v_error := jsonb_build_object('code', 'cancelled', 'message', coalesce(p_reason, 'cancelled'));
  -- Steps first: a job that is its own step gives up its claim before it may leave running.
  perform public._cancel_unfinished_steps(p_job_id, v_error);
  update public.jobs j
     set status = 'cancelled', error = v_error, finished_at = now(), updated_at = now()
   where j.id = p_job_id
  returning * into v_job;
  perform public._advance_lane(v_job.tenant_id, v_job.group_key);
  return v_job;
end;
$$;

comment on function public.cancel_job(uuid, text) is
  'Cancels a pending or running job and its unfinished steps (a worker still running one can no longer settle it); its group key''s next job may start.';

create or replace function public.retry_job(p_job_id uuid)
returns public.jobs
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'retry_job';
  v_job public.jobs;
  v_holder uuid;
begin
  v_job := public._lock_job_for_caller(fn, p_job_id);
  if v_job.status not in ('failed', 'cancelled') then
    raise exception '%: job % is %; only failed or cancelled jobs can be retried', fn, p_job_id, v_job.status
      using errcode = 'PT409';
  end if;

  begin
    -- A job that is its own step gets a fresh budget of attempts for the step that stopped it
    -- and rejoins the claim queue when it starts (_create_next_steps); its completed steps keep
    -- their records. It stays its own step while its type still runs on the job row and has
    -- that step, with its last attempt's start, so all_steps and job_timeline keep showing it
    -- and its attempts while it waits (a type whose steps changed since gets step rows for the
    -- steps after its completed ones when it starts).
    with kept as (
      select coalesce((select public._runs_on_job_row(t.steps) and j.step_seq < jsonb_array_length(t.steps)
                         from public.job_types t where t.type = j.type), false) as own_step
        from public.jobs j
       where j.id = p_job_id
    )
    update public.jobs j
       set status = 'pending', error = null, result = null, started_at = null, finished_at = null, updated_at = now(),
           step_name = case when k.own_step then j.step_name end,
           step_seq = case when k.own_step then j.step_seq else 0 end,
           step_count = case when k.own_step then j.step_count end,
           own_step_id = case when k.own_step then j.own_step_id end,
           attempt = 0, queue_at = null, completed_by = null
      from kept k
     where j.id = p_job_id;
  exception when unique_violation then
    select j.id into v_holder from public.jobs j
     where j.type = v_job.type and public._lane_tenant(j.tenant_id) = public._lane_tenant(v_job.tenant_id)
       and j.dedupe_key = v_job.dedupe_key and j.status in ('pending', 'running');
    raise exception '%: job % has dedupe_key %, which unfinished job % now holds', fn, p_job_id, quote_literal(v_job.dedupe_key), v_holder
      using errcode = 'PT409';
  end;

  -- Completed steps keep their outputs; the failed and cancelled ones get a fresh budget of
  -- attempts. They are claimable once the job is running again (now, or at its lane's turn).
  -- They join the claim queue anew, at their tenant's next turn (see _queue_turn).
  update public.job_steps s
     set status = 'pending', attempt = 0, locked_by = null, lease_expires_at = null, run_at = now(),
         queue_rank = q.queue_rank, queue_at = coalesce(q.first_turn_at, now()),
         started_at = null, finished_at = null, updated_at = now()
    from public._queue_turn(v_job.tenant_id, v_job.priority) q
   where s.job_id = p_job_id and s.status in ('failed', 'cancelled');

  if v_job.group_key is not null and v_job.type is not null then
    perform public._advance_lane(v_job.tenant_id, v_job.group_key);
  elsif v_job.type is null or v_job.run_at <= now() then
    perform public._start_jobs(array[p_job_id]);
  end if;

  select * into v_job from public.jobs j where j.id = p_job_id;
  return v_job;
end;
$$;

comment on function public.retry_job(uuid) is
  'Runs a failed or cancelled job again from the step that stopped it (completed steps keep their output); returns it.';

revoke all on function public._visible_job(text, uuid), public._lock_job_for_caller(text, uuid)
  from public, anon, authenticated, service_role;
revoke all on function public.cancel_job(uuid, text), public.retry_job(uuid) from public, anon;
grant execute on function public.cancel_job(uuid, text), public.retry_job(uuid) to authenticated, service_role;
