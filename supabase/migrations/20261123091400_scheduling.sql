-- leaseflow: waking workers. pg_cron runs tick() every 5 seconds (every minute where pg_cron is
-- older than 1.5); tick() runs sweep(), then starts as many `worker` Edge Function invocations
-- as the backlog needs (none on an idle queue) with net.http_post (pg_net), reading the project
-- URL and the worker secret from Vault. An enqueue that creates claimable work wakes what the
-- backlog needs at once by the same arithmetic (the kick), so pick-up does not wait for a tick.
-- The knobs are in leaseflow_settings (worker_batch_size, max_invocations, kick_debounce, ...).
--
-- One-time setup on a project (README, "Running workers"):
--   select vault.create_secret('https://<ref>.supabase.co', 'leaseflow_project_url');
--   select vault.create_secret('<a long random secret>', 'leaseflow_worker_secret');
--   supabase secrets set LEASEFLOW_WORKER_SECRET=<the same secret>

-- In pg_catalog, where Supabase creates it (its objects live in the cron schema either way); in
-- public, the database advisors flag it (extension_in_public).
create extension if not exists pg_cron with schema pg_catalog;

-- pg_net where the platform offers it (hosted Supabase, `supabase start`).
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end $$;

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
revoke all on sequence public.worker_wakeups_id_seq from public, anon, authenticated;
grant select on table public.worker_wakeups to service_role;

-- Invocations alive or on their way: registered edge workers with a fresh heartbeat, plus the
-- wake-ups of the last wakeup_grace that no worker has registered for yet.
create or replace function public._live_invocations()
returns int
language sql stable
set search_path = ''
as $$
  select ((select count(*) from public.workers w, public.leaseflow_settings s
            where w.kind = 'edge' and w.stopped_at is null and w.last_heartbeat_at > now() - s.live_worker_window)
        + (select count(*) from public.worker_wakeups u, public.leaseflow_settings s
            where u.sent_at > now() - s.wakeup_grace
              and not exists (select 1 from public.workers w
                               where w.metadata ? 'wakeup_id' and w.metadata ->> 'wakeup_id' = u.id::text)))::int
$$;

-- How many invocations the claimable backlog wants now: one per worker_batch_size claimable
-- steps, at most max_invocations, minus those alive or on their way. Claimable means by an
-- invocation: of a type the worker Edge Function handles (any type until an invocation has
-- registered its types); a step of a type it does not handle, or made by hand (no type), would
-- wake invocations that claim nothing, every tick (queue_stats shows them as unclaimable). The
-- backlog count is a bounded index probe over claimable steps, so an idle queue costs one probe.
create or replace function public._invocations_wanted(out backlog int, out live int, out wanted int)
language plpgsql volatile
set search_path = ''
-- Index probes whatever the statistics say (as next_claimable_at's): a plan cached from a
-- backlog's statistics read the claim queue by a scan of every job. No parallel workers for a
-- probe of a few buffers, and no JIT (the priced-out scans look huge to it).
set enable_seqscan = off
set max_parallel_workers_per_gather = 0
set jit = off
as $$
declare
  v_settings public.leaseflow_settings;
  v_types text[] := public._edge_worker_types();
begin
  select * into v_settings from public.leaseflow_settings;
  -- Steps in job_steps, queued (job_steps_claimable_idx) or with a retry due
  -- (job_steps_retry_due_idx): as one probe of every pending step, no index held exactly those,
  -- and each call read every step record kept.
  select count(*) into backlog
    from ((select 1 from public.job_steps s
             join public.jobs j on j.id = s.job_id
            where s.status = 'pending' and s.attempt < s.max_attempts and s.queue_at is not null and s.run_at <= now()
              and j.status = 'running' and j.type is not null and (v_types is null or j.type = any (v_types))
            limit v_settings.max_invocations * v_settings.worker_batch_size)
          union all
          (select 1 from public.job_steps s
             join public.jobs j on j.id = s.job_id
            where s.status = 'pending' and s.queue_at is null and s.attempt < s.max_attempts and s.run_at <= now()
              and j.status = 'running' and j.type is not null and (v_types is null or j.type = any (v_types))
            limit v_settings.max_invocations * v_settings.worker_batch_size)
          union all
          -- Jobs that are their own step, in the claim queue (jobs_claimable_idx) or with a retry
          -- due (jobs_retry_due_idx; the claim puts it back in the queue, and nothing else does, so
          -- without an invocation it would wait for the next enqueue). The queues of the
          -- function's types from the claim floor on, as claim_steps reads them (see claim_floor).
          (select 1 from public.jobs j
            where j.type = any (public._claim_queue_types(v_types))
              and j.status = 'running' and j.locked_by is null and j.queue_at is not null and j.run_at <= now()
              and (j.queue_rank, j.queue_at) >= (select f.queue_rank, f.queue_at from public.claim_floor f)
            limit v_settings.max_invocations * v_settings.worker_batch_size)
          union all
          (select 1 from public.jobs j
            where j.status = 'running' and j.locked_by is null and j.queue_at is null and j.step_name is not null
              and j.run_at <= now() and (v_types is null or j.type = any (v_types))
            limit v_settings.max_invocations * v_settings.worker_batch_size)) claimable;
  live := 0;
  wanted := 0;
  if backlog > 0 then
    live := public._live_invocations();
    wanted := greatest(0, least(v_settings.max_invocations, ceil(backlog::numeric / v_settings.worker_batch_size)::int) - live);
  end if;
end;
$$;

-- Sends p_count wake-ups to the worker function, each carrying its wakeup_id (the invocation
-- registers with it). Without the Vault secrets it warns and sends nothing (the queue still
-- works with a Node worker).
create or replace function public._wake_workers(p_count int, p_reason text)
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
  v_wakeup_id bigint;
begin
  if p_count <= 0 then
    return 0;
  end if;
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'leaseflow_project_url';
  select s.decrypted_secret into v_secret from vault.decrypted_secrets s where s.name = 'leaseflow_worker_secret';
  if v_url is null or v_secret is null then
    raise warning 'leaseflow: cannot wake workers: the Vault secrets leaseflow_project_url and leaseflow_worker_secret must both exist (see README, Running workers)';
    return 0;
  end if;
  for i in 1..p_count loop
    insert into public.worker_wakeups (reason) values (p_reason) returning id into v_wakeup_id;
    update public.worker_wakeups
       set request_id = net.http_post(
             url := rtrim(v_url, '/') || '/functions/v1/worker',
             body := jsonb_build_object('reason', p_reason, 'wakeup_id', v_wakeup_id),
             headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_secret),
             timeout_milliseconds := 5000)
     where id = v_wakeup_id;
  end loop;
  update public.leaseflow_settings set last_kick_at = now();
  return p_count;
end;
$$;

-- Called by enqueue when it created claimable work: wakes what the backlog needs (one job wakes
-- one invocation, a 5 000-job batch max_invocations), at most once per kick_debounce.
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
  v_need record;
  v_started int;
  v_lost int;
begin
  select * into v_settings from public.leaseflow_settings;
  -- Invocations that stopped heartbeating without stopping (killed at the wall clock, crashed):
  -- stopped as lost, last seen at their last heartbeat, so they are not live and are pruned in
  -- time. A Node process is left alone: a long pause is not a death, and it stops itself.
  with lost as (
    update public.workers w
       set stopped_at = w.last_heartbeat_at,
           metadata = w.metadata || jsonb_build_object('stopped_by', 'lost', 'lost_noticed_at', now())
     where w.kind = 'edge' and w.stopped_at is null and w.last_heartbeat_at < now() - v_settings.live_worker_window
    returning 1
  )
  select count(*) into v_lost from lost;
  v_need := public._invocations_wanted();
  v_started := public._wake_workers(v_need.wanted, 'tick');
  delete from public.worker_wakeups where sent_at < now() - v_settings.retention;
  delete from public.workers where stopped_at < now() - v_settings.retention;
  return v_sweep || jsonb_build_object('backlog', v_need.backlog, 'live_invocations', v_need.live,
                                       'invocations_started', v_started, 'invocations_lost', v_lost);
end;
$$;

comment on function public.tick() is
  'Run by pg_cron (leaseflow-tick): sweep(), mark invocations silent for longer than live_worker_window stopped (lost), then wake enough worker invocations for the backlog (none when nothing is claimable).';

revoke all on function
  public._live_invocations(),
  public._invocations_wanted(),
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
    raise notice 'leaseflow: pg_cron % has no second schedules; leaseflow-tick runs every minute (an enqueue still wakes workers at once)', v_version;
    perform cron.schedule('leaseflow-tick', '* * * * *', 'select public.tick()');
  end if;
end $$;
