-- leaseflow: claiming and completing steps under leases.
--
-- Lock order. Every transition that changes more than one row locks the job first, then its
-- steps (complete_step, the lease sweep). The claim locks only steps and never waits (SKIP
-- LOCKED), so it cannot take part in a deadlock.
--
-- Leases. A claim sets lease_expires_at; a step whose lease has lapsed is claimable again.
-- Expired leases are reset in one place, _expire_leases(), which both the claim path and
-- sweep() call: back to pending while attempts remain (the next claim counts a new attempt),
-- otherwise the step fails and takes its job with it.

-- Argument guards: one message shape for every function ("<fn>: <arg> must ..., got <value>").

create or replace function public._require_worker_id(p_function text, p_worker_id text)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_worker_id is null then
    raise exception '%: p_worker_id must not be null', p_function
      using errcode = 'null_value_not_allowed';
  end if;
  if btrim(p_worker_id) = '' then
    raise exception '%: p_worker_id must be a non-empty string, got %', p_function, quote_literal(p_worker_id)
      using errcode = 'invalid_parameter_value';
  end if;
end;
$$;

create or replace function public._require_positive_lease(p_function text, p_lease_duration interval)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_lease_duration is null then
    raise exception '%: p_lease_duration must not be null', p_function
      using errcode = 'null_value_not_allowed';
  end if;
  if p_lease_duration <= interval '0' then
    raise exception '%: p_lease_duration must be positive, got %', p_function, quote_literal(p_lease_duration::text)
      using errcode = 'invalid_parameter_value';
  end if;
end;
$$;

create or replace function public._require_step_id(p_function text, p_step_id uuid)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_step_id is null then
    raise exception '%: p_step_id must not be null', p_function
      using errcode = 'null_value_not_allowed';
  end if;
end;
$$;

-- Fails a job and cancels its unfinished steps (a running sibling's late completion then
-- changes nothing). The caller must hold the job's row lock.
create or replace function public._fail_job(p_job_id uuid, p_error jsonb)
returns void
language plpgsql volatile
set search_path = ''
as $$
begin
  update public.jobs
     set status = 'failed', error = p_error, updated_at = now()
   where id = p_job_id
     and status in ('pending', 'running');

  update public.job_steps
     set status = 'cancelled', locked_by = null, lease_expires_at = null, updated_at = now()
   where job_id = p_job_id
     and status in ('pending', 'running');
end;
$$;

-- Resets every lapsed lease: back to pending while attempts remain, failed (with its job)
-- once they are used up. Jobs another transaction holds are skipped and seen next time.
create or replace function public._expire_leases(out reclaimed int, out failed int)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_job_id uuid;
  v_failure jsonb;
  v_reclaimed int;
begin
  reclaimed := 0;
  failed := 0;
  for v_job_id in
    select j.id
      from public.jobs j
     where j.id in (select s.job_id
                      from public.job_steps s
                     where s.status = 'running' and s.lease_expires_at < now())
     order by j.id
       for update of j skip locked
  loop
    with expired as (
      update public.job_steps s
         set status = case when s.attempt >= s.max_attempts then 'failed' else 'pending' end,
             error = jsonb_build_object(
               'code', 'lease_expired',
               'message', format('lease of worker %s expired at %s on attempt %s of %s',
                                 quote_literal(s.locked_by), s.lease_expires_at, s.attempt, s.max_attempts),
               'worker', s.locked_by,
               'attempt', s.attempt),
             locked_by = null,
             lease_expires_at = null,
             updated_at = now()
       where s.job_id = v_job_id
         and s.status = 'running'
         and s.lease_expires_at < now()
      returning s.status, s.error
    )
    select count(*) filter (where e.status = 'pending'),
           (array_agg(e.error) filter (where e.status = 'failed'))[1]
      into v_reclaimed, v_failure
      from expired e;

    reclaimed := reclaimed + v_reclaimed;
    if v_failure is not null then
      perform public._fail_job(v_job_id, v_failure);
      failed := failed + 1;
    end if;
  end loop;
end;
$$;

create or replace function public.claim_next_step(
  p_worker_id text,
  p_lease_duration interval default '5 minutes'
)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_worker_id('claim_next_step', p_worker_id);
  perform public._require_positive_lease('claim_next_step', p_lease_duration);

  -- Lapsed leases become pending (or failed) first, so the claim below only has to scan the
  -- claimable index; a lapsed step is then claimable exactly like a pending one.
  perform public._expire_leases();

  -- One statement: the candidate is locked (SKIP LOCKED: a row another claimer holds is passed
  -- over, never waited for) and updated before the statement ends, so two callers can never
  -- both get it. Rows changed by a concurrent commit are re-checked against the WHERE clause.
  return query
  with next_step as (
    select s.id
      from public.job_steps s
      join public.jobs j on j.id = s.job_id
     where s.status = 'pending'
       and s.attempt < s.max_attempts
       and j.status = 'running'
       and not exists (select 1
                         from public.job_steps earlier
                        where earlier.job_id = s.job_id
                          and earlier.seq < s.seq
                          and earlier.status <> 'completed')
     order by s.created_at, s.seq, s.id
     limit 1
       for update of s skip locked
  )
  update public.job_steps s
     set status = 'running',
         locked_by = p_worker_id,
         lease_expires_at = now() + p_lease_duration,
         attempt = s.attempt + 1,
         started_at = now(),
         updated_at = now()
    from next_step
   where s.id = next_step.id
  returning s.*;
end;
$$;

comment on function public.claim_next_step(text, interval) is
  'Claims the oldest claimable step for p_worker_id under a lease of p_lease_duration, or returns no row.';

create or replace function public.complete_step(p_step_id uuid, p_worker_id text, p_output jsonb)
returns setof public.job_steps
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_step public.job_steps;
begin
  perform public._require_step_id('complete_step', p_step_id);
  perform public._require_worker_id('complete_step', p_worker_id);

  -- Job first (see the lock order above): two parallel steps finishing at once are
  -- serialised here, so the second one sees the first one's completion and closes the job.
  perform 1
     from public.jobs j
    where j.id = (select s.job_id
                    from public.job_steps s
                   where s.id = p_step_id and s.status = 'running' and s.locked_by = p_worker_id)
      for update of j;
  if not found then
    return;
  end if;

  update public.job_steps s
     set status = 'completed',
         output = p_output,
         locked_by = null,
         lease_expires_at = null,
         completed_at = now(),
         updated_at = now()
   where s.id = p_step_id
     and s.status = 'running'
     and s.locked_by = p_worker_id
  returning s.* into v_step;
  if not found then
    return;
  end if;

  update public.jobs j
     set status = 'completed', completed_at = now(), updated_at = now()
   where j.id = v_step.job_id
     and j.status = 'running'
     and not exists (select 1
                       from public.job_steps s
                      where s.job_id = j.id and s.status <> 'completed');

  return next v_step;
end;
$$;

comment on function public.complete_step(uuid, text, jsonb) is
  'Completes a step p_worker_id holds, storing p_output; returns no row when it no longer holds it. Completes the job with its last step.';

create or replace function public.sweep()
returns jsonb
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_leases record;
begin
  select * into v_leases from public._expire_leases();
  return jsonb_build_object('leases_reclaimed', v_leases.reclaimed, 'steps_failed', v_leases.failed);
end;
$$;

comment on function public.sweep() is
  'Maintenance: resets lapsed leases (failing steps whose attempts are used up). Returns what it did as JSON counts.';

-- Supabase's default privileges grant new public functions to anon and authenticated:
-- revoke them explicitly. Helpers (leading _) are callable only by the functions above.
revoke all on function
  public._require_worker_id(text, text),
  public._require_positive_lease(text, interval),
  public._require_step_id(text, uuid),
  public._fail_job(uuid, jsonb),
  public._expire_leases()
  from public, anon, authenticated, service_role;

revoke all on function
  public.claim_next_step(text, interval),
  public.complete_step(uuid, text, jsonb),
  public.sweep()
  from public, anon, authenticated;
grant execute on function
  public.claim_next_step(text, interval),
  public.complete_step(uuid, text, jsonb),
  public.sweep()
  to service_role;
