-- leaseflow: waking workers. pg_cron runs tick() every 5 seconds (every minute where pg_cron is
-- older than 1.5); tick() runs sweep(), then starts as many `worker` Edge Function invocations
-- as the backlog needs — none on an idle queue — with net.http_post (pg_net), reading the
-- project URL and the worker secret from Vault. Enqueueing into an idle queue wakes one worker
-- at once (kick), so pick-up does not wait for the next tick.
--
-- One-time setup on a project (README, "Production setup"):
--   select vault.create_secret('https://<ref>.supabase.co', 'leaseflow_project_url');
--   select vault.create_secret('<a long random secret>', 'leaseflow_worker_secret');
--   supabase secrets set LEASEFLOW_WORKER_SECRET=<the same secret>

create extension if not exists pg_cron;

-- pg_net where the platform offers it (hosted Supabase, `supabase start`).
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end $$;

alter table public.leaseflow_settings
  -- Steps one invocation claims per batch; tick() divides the backlog by it.
  add column worker_batch_size int not null default 10,
  -- At most this many invocations run at once.
  add column max_invocations int not null default 10,
  -- A registered edge worker counts as alive while its heartbeat is younger than this.
  add column live_worker_window interval not null default '30 seconds',
  -- A wake-up counts as an invocation in flight this long (until the worker registers).
  add column wakeup_grace interval not null default '10 seconds',
  -- Enqueue wakes at most one worker per this window.
  add column kick_debounce interval not null default '5 seconds',
  add column last_kick_at timestamptz,
  add constraint leaseflow_settings_worker_batch_size_check check (worker_batch_size between 1 and 1000),
  add constraint leaseflow_settings_max_invocations_check check (max_invocations between 0 and 1000);

comment on column public.leaseflow_settings.max_invocations is
  'tick() keeps at most this many worker invocations running; 0 turns the Edge Function workers off.';

-- Every wake-up sent, for the tick's arithmetic and for counting invocations per job.
create table public.worker_wakeups (
  id bigint generated always as identity primary key,
  sent_at timestamptz not null default now(),
  reason text not null,
  request_id bigint,
  constraint worker_wakeups_reason_check check (reason in ('tick', 'enqueue'))
);
create index worker_wakeups_sent_at_idx on public.worker_wakeups (sent_at);

alter table public.worker_wakeups enable row level security;
revoke all on table public.worker_wakeups from public, anon, authenticated;
grant select on table public.worker_wakeups to service_role;

-- Invocations alive or on their way: registered edge workers with a fresh heartbeat, or the
-- wake-ups of the last wakeup_grace (they have not registered yet), whichever is larger.
create or replace function public._live_invocations()
returns int
language sql stable
set search_path = ''
as $$
  select greatest(
    (select count(*) from public.workers w, public.leaseflow_settings s
      where w.kind = 'edge' and w.stopped_at is null and w.last_heartbeat_at > now() - s.live_worker_window),
    (select count(*) from public.worker_wakeups u, public.leaseflow_settings s
      where u.sent_at > now() - s.wakeup_grace))::int
$$;

-- Sends p_count wake-ups to the worker function. Without the Vault secrets it warns and sends
-- nothing (the queue still works with a Node worker).
create or replace function public._wake_workers(p_count int, p_reason text)
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
  v_request_id bigint;
begin
  if p_count <= 0 then
    return 0;
  end if;
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'leaseflow_project_url';
  select s.decrypted_secret into v_secret from vault.decrypted_secrets s where s.name = 'leaseflow_worker_secret';
  if v_url is null or v_secret is null then
    raise warning 'leaseflow: cannot wake workers: the Vault secrets leaseflow_project_url and leaseflow_worker_secret must both exist (see README, Production setup)';
    return 0;
  end if;
  for i in 1..p_count loop
    v_request_id := net.http_post(
      url := rtrim(v_url, '/') || '/functions/v1/worker',
      body := jsonb_build_object('reason', p_reason),
      headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_secret),
      timeout_milliseconds := 5000);
    insert into public.worker_wakeups (reason, request_id) values (p_reason, v_request_id);
  end loop;
  update public.leaseflow_settings set last_kick_at = now();
  return p_count;
end;
$$;

-- Called by enqueue when it created claimable work: wakes one worker, unless one is alive or on
-- its way, at most once per kick_debounce (a 50 000-job batch sends one request).
create or replace function public._kick_workers()
returns boolean
language plpgsql volatile
set search_path = ''
as $$
declare
  v_settings public.leaseflow_settings;
begin
  select * into v_settings from public.leaseflow_settings;
  if v_settings.max_invocations = 0
     or v_settings.last_kick_at > now() - v_settings.kick_debounce
     or public._live_invocations() > 0 then
    return false;
  end if;
  -- The row lock makes concurrent enqueues agree on one kick: the second re-reads last_kick_at.
  update public.leaseflow_settings s set last_kick_at = now()
   where s.last_kick_at is null or s.last_kick_at <= now() - s.kick_debounce;
  if not found then
    return false;
  end if;
  return public._wake_workers(1, 'enqueue') = 1;
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
  v_backlog int;
  v_live int := 0;
  v_started int := 0;
begin
  select * into v_settings from public.leaseflow_settings;
  -- An index probe over claimable steps, bounded: an idle queue costs one probe and starts nothing.
  select count(*) into v_backlog
    from (select 1 from public.job_steps s
           where s.status = 'pending' and s.attempt < s.max_attempts and s.run_at <= now()
           limit v_settings.max_invocations * v_settings.worker_batch_size) claimable;
  if v_backlog > 0 then
    v_live := public._live_invocations();
    v_started := public._wake_workers(
      least(v_settings.max_invocations, ceil(v_backlog::numeric / v_settings.worker_batch_size)::int) - v_live, 'tick');
  end if;

  delete from public.worker_wakeups where sent_at < now() - v_settings.retention;
  delete from public.workers where stopped_at < now() - v_settings.retention;
  return v_sweep || jsonb_build_object('backlog', v_backlog, 'live_invocations', v_live, 'invocations_started', v_started);
end;
$$;

comment on function public.tick() is
  'Run by pg_cron (leaseflow-tick): sweep(), then wake enough worker invocations for the backlog (none when nothing is claimable).';

revoke all on function
  public._live_invocations(),
  public._wake_workers(int, text),
  public._kick_workers()
  from public, anon, authenticated, service_role;
revoke all on function public.tick() from public, anon, authenticated;
grant execute on function public.tick() to service_role;

-- The schedule: every 5 seconds where pg_cron has second schedules (1.5+), else every minute.
do $$
declare
  v_version text := (select extversion from pg_extension where extname = 'pg_cron');
begin
  if string_to_array(substring(v_version from '^[0-9]+\.[0-9]+'), '.')::int[] >= array[1, 5] then
    perform cron.schedule('leaseflow-tick', '5 seconds', 'select public.tick()');
  else
    raise notice 'leaseflow: pg_cron % has no second schedules; leaseflow-tick runs every minute (enqueue still wakes a worker at once)', v_version;
    perform cron.schedule('leaseflow-tick', '* * * * *', 'select public.tick()');
  end if;
end $$;
