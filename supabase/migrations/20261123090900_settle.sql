-- leaseflow: settling claimed steps: complete (one or a batch), fail (retry or for good),
-- extend a lease (heartbeat), release (give back on shutdown).
--
-- Every settle is guarded by the lease holder: it changes a step only while the step is
-- running and locked_by = p_worker_id, and returns no row otherwise, so a worker whose lease
-- was taken over can never overwrite the new holder's work.

-- Completes the held steps among p_step_ids with their outputs; creates each job's next step
-- group when its current one is done; completes jobs whose last step finished and lets their
-- group key's next job start. Returns the completed steps.
create or replace function public._complete_steps(p_worker_id text, p_step_ids uuid[], p_outputs jsonb[])
returns setof public.job_steps
language plpgsql volatile
set search_path = ''
-- As for the claim: custom plans meant planning the job-completion update on every call (0.46 ms
-- planning, 0.14 ms execution). Every statement here looks rows up by primary key or job id.
set plan_cache_mode = force_generic_plan
as $$
declare
  v_lane record;
  v_done public.job_steps[];
  v_finished record;
begin
  -- Lock order: lanes, then jobs (by id), then steps. Locking the job also serialises two
  -- parallel steps finishing at once, so the second sees the first and closes the job.
  for v_lane in
    select distinct j.tenant_id, j.group_key
      from public.job_steps s
      join public.jobs j on j.id = s.job_id
     where s.id = any (p_step_ids) and s.status = 'running' and s.locked_by = p_worker_id
       and j.group_key is not null
     order by 1, 2
  loop
    perform public._lock_lane(v_lane.tenant_id, v_lane.group_key, true);
  end loop;
  perform 1
     from public.jobs j
    where j.id in (select s.job_id from public.job_steps s
                    where s.id = any (p_step_ids) and s.status = 'running' and s.locked_by = p_worker_id)
    order by j.id
      for update of j;

  with results as (
    select r.step_id, r.output from unnest(p_step_ids, p_outputs) as r(step_id, output)
  ), done as (
    update public.job_steps s
       set status = 'completed', output = r.output, locked_by = null, lease_expires_at = null,
           finished_at = now(), updated_at = now()
      from results r
     where s.id = r.step_id and s.status = 'running' and s.locked_by = p_worker_id
    returning s.*
  ), recorded as (
    insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome)
    select d.id, d.job_id, d.attempt, p_worker_id, d.started_at, 'completed' from done d
  )
  select coalesce(array_agg(d::public.job_steps), '{}'::public.job_steps[]) into v_done from done d;

  if cardinality(v_done) = 0 then
    return;
  end if;

  -- Jobs whose current group is done get their next group's steps; a job with no unfinished
  -- step left after that has run its last group.
  perform public._create_next_steps(array(select distinct d.job_id from unnest(v_done) d));

  for v_finished in
    update public.jobs j
       set status = 'completed', finished_at = now(), updated_at = now(),
           result = (select case when count(*) = 1 then (array_agg(x.output))[1]
                                 else jsonb_object_agg(coalesce(x.name, x.id::text), x.output) end
                       from public.job_steps x
                      where x.job_id = j.id
                        and x.seq = (select max(y.seq) from public.job_steps y where y.job_id = j.id))
     where j.id in (select d.job_id from unnest(v_done) d)
       and j.status = 'running'
       and not exists (select 1 from public.job_steps s where s.job_id = j.id and s.status <> 'completed')
    returning j.tenant_id, j.group_key
  loop
    perform public._advance_lane(v_finished.tenant_id, v_finished.group_key);
  end loop;

  return query select * from unnest(v_done);
end;
$$;

create or replace function public.complete_steps(p_worker_id text, p_results jsonb)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'complete_steps';
  v_bad_index int;
  v_bad jsonb;
  v_duplicate uuid;
begin
  perform public._require_worker_id(fn, p_worker_id);
  if p_results is null then
    raise exception '%: p_results must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if jsonb_typeof(p_results) <> 'array' or jsonb_array_length(p_results) not between 1 and 1000 then
    raise exception '%: p_results must be a JSON array of 1 to 1000 {step_id, output} objects, got %', fn, public._json_preview(p_results)
      using errcode = 'invalid_parameter_value';
  end if;
  select e.ordinality - 1, e.value into v_bad_index, v_bad
    from jsonb_array_elements(p_results) with ordinality e
   where jsonb_typeof(e.value) <> 'object'
      or jsonb_typeof(e.value -> 'step_id') is distinct from 'string'
      or (e.value ->> 'step_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      or exists (select 1 from jsonb_object_keys(e.value) k where k not in ('step_id', 'output'))
   order by e.ordinality
   limit 1;
  if found then
    raise exception '%: p_results[%] must be an object {step_id: uuid, output?: any JSON}, got %', fn, v_bad_index, public._json_preview(v_bad)
      using errcode = 'invalid_parameter_value';
  end if;
  select (e.value ->> 'step_id')::uuid into v_duplicate
    from jsonb_array_elements(p_results) e
   group by (e.value ->> 'step_id')::uuid
  having count(*) > 1
   limit 1;
  if found then
    raise exception '%: p_results names step % more than once', fn, v_duplicate
      using errcode = 'invalid_parameter_value';
  end if;

  return query
  select *
    from public._complete_steps(
      p_worker_id,
      array(select (e.value ->> 'step_id')::uuid from jsonb_array_elements(p_results) with ordinality e order by e.ordinality),
      array(select e.value -> 'output' from jsonb_array_elements(p_results) with ordinality e order by e.ordinality));
end;
$$;

comment on function public.complete_steps(text, jsonb) is
  'Completes, in one call, the steps of p_results ([{step_id, output}]) that p_worker_id holds; returns those it completed.';

create or replace function public.complete_step(p_step_id uuid, p_worker_id text, p_output jsonb)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_id('complete_step', 'p_step_id', p_step_id);
  perform public._require_worker_id('complete_step', p_worker_id);
  return query select * from public._complete_steps(p_worker_id, array[p_step_id], array[p_output]);
end;
$$;

comment on function public.complete_step(uuid, text, jsonb) is
  'Completes a step p_worker_id holds, storing p_output; returns no row when it no longer holds it. Completes the job with its last step.';

-- The wait before retry attempt p_attempt + 1: the type's base * 2^(p_attempt - 1), spread by
-- ±jitter (failures that happened together should not retry together), capped at its max.
create or replace function public._retry_delay(p_type text, p_attempt int)
returns interval
language plpgsql volatile
set search_path = ''
as $$
declare
  v_base interval := interval '1 second';
  v_max interval := interval '1 hour';
  v_jitter float8 := 0.2;
begin
  select t.backoff_base, t.backoff_max, t.backoff_jitter into v_base, v_max, v_jitter
    from public.job_types t where t.type = p_type;
  if not found then
    v_base := interval '1 second';
    v_max := interval '1 hour';
    v_jitter := 0.2;
  end if;
  -- Jitter before the cap, so that max really is the longest wait.
  return least(v_max, v_base * power(2, least(greatest(p_attempt, 1) - 1, 30))
                      * (1 + v_jitter * (2 * random() - 1)));
end;
$$;

create or replace function public.fail_step(
  p_step_id uuid,
  p_worker_id text,
  p_error jsonb,
  p_retry_in interval default null,
  p_permanent boolean default false
)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  fn constant text := 'fail_step';
  v_job record;
  v_step public.job_steps;
  v_final boolean;
begin
  perform public._require_id(fn, 'p_step_id', p_step_id);
  perform public._require_worker_id(fn, p_worker_id);
  if p_error is null then
    raise exception '%: p_error must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if jsonb_typeof(p_error) <> 'object' then
    raise exception '%: p_error must be a JSON object such as {"message": "..."}, got %', fn, public._json_preview(p_error)
      using errcode = 'invalid_parameter_value';
  end if;
  if p_permanent is null then
    raise exception '%: p_permanent must not be null', fn using errcode = 'null_value_not_allowed';
  end if;
  if p_retry_in < interval '0' then
    raise exception '%: p_retry_in must not be negative, got %', fn, quote_literal(p_retry_in::text)
      using errcode = 'invalid_parameter_value';
  end if;
  if p_permanent and p_retry_in is not null then
    raise exception '%: p_retry_in (%) cannot be combined with p_permanent = true', fn, quote_literal(p_retry_in::text)
      using errcode = 'invalid_parameter_value';
  end if;

  select j.id, j.type, j.tenant_id, j.group_key into v_job
    from public.job_steps s join public.jobs j on j.id = s.job_id
   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id;
  if not found then
    return;
  end if;
  perform public._lock_job(v_job.id, v_job.tenant_id, v_job.group_key);

  select * into v_step
    from public.job_steps s
   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id
     for update;
  if not found then
    return;
  end if;
  v_final := p_permanent or v_step.attempt >= v_step.max_attempts;

  insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome, error)
  values (v_step.id, v_step.job_id, v_step.attempt, p_worker_id, v_step.started_at,
          case when v_final then 'failed' else 'retried' end, p_error);

  update public.job_steps s
     set status = case when v_final then 'failed' else 'pending' end,
         error = p_error,
         locked_by = null,
         lease_expires_at = null,
         run_at = case when v_final then s.run_at
                       else now() + coalesce(p_retry_in, public._retry_delay(v_job.type, s.attempt)) end,
         finished_at = case when v_final then now() end,
         updated_at = now()
   where s.id = p_step_id
  returning * into v_step;

  if v_final then
    perform public._fail_job(v_job.id,
      p_error || jsonb_build_object('step_id', v_step.id, 'step', v_step.name, 'attempt', v_step.attempt));
  end if;
  return next v_step;
end;
$$;

comment on function public.fail_step(uuid, text, jsonb, interval, boolean) is
  'Records a failed attempt of a step p_worker_id holds: retried after p_retry_in or the type''s backoff, or failed for good (with its job) when p_permanent or out of attempts.';

create or replace function public.extend_lease(p_step_id uuid, p_worker_id text, p_lease_duration interval)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_id('extend_lease', 'p_step_id', p_step_id);
  perform public._require_worker_id('extend_lease', p_worker_id);
  perform public._require_positive_lease('extend_lease', p_lease_duration);
  return query
  update public.job_steps s
     set lease_expires_at = now() + p_lease_duration, updated_at = now()
   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id
  returning s.*;
end;
$$;

comment on function public.extend_lease(uuid, text, interval) is
  'Heartbeat: moves the lease of a step p_worker_id holds to now() + p_lease_duration; returns no row when it no longer holds it.';

create or replace function public.release_steps(p_worker_id text, p_step_ids uuid[] default null)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_worker_id('release_steps', p_worker_id);
  if array_position(p_step_ids, null) is not null then
    raise exception 'release_steps: p_step_ids must not contain null, got %', p_step_ids
      using errcode = 'invalid_parameter_value';
  end if;
  -- SKIP LOCKED: a step another transaction is settling or cancelling is left to it.
  return query
  with held as (
    select s.id, s.attempt, s.started_at
      from public.job_steps s
     where s.status = 'running' and s.locked_by = p_worker_id
       and (p_step_ids is null or s.id = any (p_step_ids))
       for update skip locked
  ), recorded as (
    insert into public.step_attempts (step_id, job_id, attempt, worker_id, started_at, outcome)
    select h.id, s.job_id, h.attempt, p_worker_id, h.started_at, 'released'
      from held h join public.job_steps s on s.id = h.id
  )
  update public.job_steps s
     set status = 'pending', attempt = s.attempt - 1, locked_by = null, lease_expires_at = null,
         started_at = null, updated_at = now()
    from held
   where s.id = held.id
  returning s.*;
end;
$$;

comment on function public.release_steps(text, uuid[]) is
  'Gives back steps p_worker_id holds (all, or those in p_step_ids) without consuming their attempt, e.g. on shutdown.';

revoke all on function
  public._complete_steps(text, uuid[], jsonb[]),
  public._retry_delay(text, int)
  from public, anon, authenticated, service_role;
revoke all on function
  public.complete_steps(text, jsonb),
  public.complete_step(uuid, text, jsonb),
  public.fail_step(uuid, text, jsonb, interval, boolean),
  public.extend_lease(uuid, text, interval),
  public.release_steps(text, uuid[])
  from public, anon, authenticated;
grant execute on function
  public.complete_steps(text, jsonb),
  public.complete_step(uuid, text, jsonb),
  public.fail_step(uuid, text, jsonb, interval, boolean),
  public.extend_lease(uuid, text, interval),
  public.release_steps(text, uuid[])
  to service_role;
