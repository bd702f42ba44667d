-- leaseflow: the workers table. Each worker (an Edge Function invocation or a Node process)
-- registers itself, heartbeats while it drains, and marks itself stopped, so the tick can count
-- the live ones and operators can see who holds what.

create table public.workers (
  id text primary key,
  -- 'edge' (one Edge Function invocation) or 'node' (a long-running process).
  kind text not null,
  started_at timestamptz not null default now(),
  last_heartbeat_at timestamptz not null default now(),
  stopped_at timestamptz,
  -- Free-form facts the worker reports about itself (host, version, budget, summary at stop).
  metadata jsonb not null default '{}',
  constraint workers_kind_check check (kind in ('edge', 'node')),
  constraint workers_id_check check (btrim(id) <> '' and length(id) <= 200)
);

comment on table public.workers is
  'leaseflow workers: registered at start, heartbeating while alive, stopped_at set when they exit.';

create index workers_live_idx on public.workers (last_heartbeat_at) where stopped_at is null;

-- The latest Edge invocation, whose registered types say what the tick and the kick may wake one
-- for (_edge_worker_types, on every kick): a probe from the newest end, however many are kept.
create index workers_edge_started_idx on public.workers (started_at) where kind = 'edge';

-- An Edge invocation registers with the id of the wake-up that started it (metadata.wakeup_id),
-- so tick() stops counting that wake-up as on its way.
create index workers_wakeup_id_idx on public.workers ((metadata ->> 'wakeup_id'))
  where metadata ? 'wakeup_id';

alter table public.workers enable row level security;
revoke all on table public.workers from public, anon, authenticated;
grant select, insert, update, delete on table public.workers to service_role;

create or replace function public.register_worker(p_worker_id text, p_kind text, p_metadata jsonb default '{}')
returns public.workers
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  v_worker public.workers;
begin
  perform public._require_worker_id('register_worker', p_worker_id);
  if length(p_worker_id) > 200 then
    raise exception 'register_worker: p_worker_id must be at most 200 characters, got %', length(p_worker_id)
      using errcode = 'invalid_parameter_value';
  end if;
  if p_kind is null or p_kind not in ('edge', 'node') then
    raise exception 'register_worker: p_kind must be ''edge'' or ''node'', got %', coalesce(quote_literal(p_kind), 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_metadata is null or jsonb_typeof(p_metadata) <> 'object' then
    raise exception 'register_worker: p_metadata must be a JSON object, got %', public._json_preview(p_metadata)
      using errcode = 'invalid_parameter_value';
  end if;
  insert into public.workers as w (id, kind, metadata)
  values (p_worker_id, p_kind, p_metadata)
  on conflict (id) do update
    set kind = excluded.kind, metadata = excluded.metadata, started_at = now(),
        last_heartbeat_at = now(), stopped_at = null
  returning * into v_worker;
  return v_worker;
end;
$$;

comment on function public.register_worker(text, text, jsonb) is
  'Registers (or re-registers) a worker as alive, with its kind and metadata.';

create or replace function public.heartbeat_worker(p_worker_id text)
returns setof public.workers
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_worker_id('heartbeat_worker', p_worker_id);
  return query
  update public.workers w set last_heartbeat_at = now()
   where w.id = p_worker_id and w.stopped_at is null
  returning w.*;
end;
$$;

comment on function public.heartbeat_worker(text) is
  'Records that a registered, running worker is alive; no row when it is unknown or stopped.';

create or replace function public.stop_worker(p_worker_id text, p_metadata jsonb default '{}')
returns setof public.workers
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  perform public._require_worker_id('stop_worker', p_worker_id);
  if p_metadata is null or jsonb_typeof(p_metadata) <> 'object' then
    raise exception 'stop_worker: p_metadata must be a JSON object, got %', public._json_preview(p_metadata)
      using errcode = 'invalid_parameter_value';
  end if;
  return query
  update public.workers w
     set stopped_at = now(), last_heartbeat_at = now(), metadata = w.metadata || p_metadata
   where w.id = p_worker_id and w.stopped_at is null
  returning w.*;
end;
$$;

comment on function public.stop_worker(text, jsonb) is
  'Marks a worker stopped, merging p_metadata (e.g. its drain summary) into its metadata.';

revoke all on function
  public.register_worker(text, text, jsonb),
  public.heartbeat_worker(text),
  public.stop_worker(text, jsonb)
  from public, anon, authenticated;
grant execute on function
  public.register_worker(text, text, jsonb),
  public.heartbeat_worker(text),
  public.stop_worker(text, jsonb)
  to service_role;
