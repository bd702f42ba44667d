-- leaseflow: the enqueue kick wakes as many worker invocations as the backlog needs, the same
-- arithmetic as tick() (one per worker_batch_size claimable steps, at most max_invocations,
-- minus those alive or on their way), instead of one. A 5 000-job batch into an idle queue
-- used to run on a single invocation until the next tick (a minute where pg_cron has no second
-- schedules); a single job still wakes one. Still debounced: at most one kick per kick_debounce.

-- How many invocations the claimable backlog wants now: the bounded backlog count (an index
-- probe over claimable steps: an idle queue costs one probe), those alive, and the difference.
create or replace function public._invocations_wanted(out backlog int, out live int, out wanted int)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_settings public.leaseflow_settings;
begin
  select * into v_settings from public.leaseflow_settings;
  select count(*) into backlog
    from (select 1 from public.job_steps s
           where s.status = 'pending' and s.attempt < s.max_attempts and s.run_at <= now()
           limit v_settings.max_invocations * v_settings.worker_batch_size) claimable;
  live := 0;
  wanted := 0;
  if backlog > 0 then
    live := public._live_invocations();
    wanted := greatest(0, least(v_settings.max_invocations, ceil(backlog::numeric / v_settings.worker_batch_size)::int) - live);
  end if;
end;
$$;

create or replace function public._kick_workers()
returns boolean
language plpgsql volatile
set search_path = ''
as $$
declare
  v_settings public.leaseflow_settings;
  v_wanted int;
begin
  select * into v_settings from public.leaseflow_settings;
  if v_settings.max_invocations = 0 or v_settings.last_kick_at > now() - v_settings.kick_debounce then
    return false;
  end if;
  v_wanted := (public._invocations_wanted()).wanted;
  if v_wanted = 0 then
    return false;
  end if;
  -- The row lock makes concurrent enqueues agree on one kick: the second re-reads last_kick_at.
  update public.leaseflow_settings s set last_kick_at = now()
   where s.last_kick_at is null or s.last_kick_at <= now() - s.kick_debounce;
  if not found then
    return false;
  end if;
  return public._wake_workers(v_wanted, 'enqueue') > 0;
end;
$$;

create or replace function public.tick()
returns jsonb
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_settings public.leaseflow_settings;
  v_sweep jsonb := public.sweep();
  v_need record := public._invocations_wanted();
  v_started int;
begin
  select * into v_settings from public.leaseflow_settings;
  v_started := public._wake_workers(v_need.wanted, 'tick');
  delete from public.worker_wakeups where sent_at < now() - v_settings.retention;
  delete from public.workers where stopped_at < now() - v_settings.retention;
  return v_sweep || jsonb_build_object('backlog', v_need.backlog, 'live_invocations', v_need.live, 'invocations_started', v_started);
end;
$$;

revoke all on function public._invocations_wanted() from public, anon, authenticated, service_role;
