-- leaseflow: engine settings, one row. Operators change them with UPDATE; the defaults are the
-- documented ones. Every knob the SQL functions read lives here.

create table public.leaseflow_settings (
  id boolean primary key default true,
  retention interval not null default '7 days',
  prune_batch_size int not null default 10000,
  worker_batch_size int not null default 10,
  max_invocations int not null default 10,
  live_worker_window interval not null default '30 seconds',
  wakeup_grace interval not null default '10 seconds',
  kick_debounce interval not null default '5 seconds',
  last_kick_at timestamptz,
  tenant_enqueue_rate float8 default 1000,
  tenant_enqueue_burst int not null default 50000,
  fair_claiming boolean not null default true,
  constraint leaseflow_settings_single_row check (id),
  constraint leaseflow_settings_retention_check check (retention > interval '0'),
  constraint leaseflow_settings_prune_batch_size_check check (prune_batch_size >= 1),
  constraint leaseflow_settings_worker_batch_size_check check (worker_batch_size between 1 and 1000),
  constraint leaseflow_settings_max_invocations_check check (max_invocations between 0 and 1000),
  constraint leaseflow_settings_tenant_enqueue_rate_check check (tenant_enqueue_rate > 0),
  constraint leaseflow_settings_tenant_enqueue_burst_check check (tenant_enqueue_burst >= 1)
);
insert into public.leaseflow_settings default values;

comment on table public.leaseflow_settings is
  'leaseflow engine settings (one row): retention, worker wake-ups, the per-tenant enqueue rate limit.';
comment on column public.leaseflow_settings.retention is
  'sweep() deletes completed, failed and cancelled jobs (with their steps and attempts), pg_cron run history, stopped workers and wake-ups older than this.';
comment on column public.leaseflow_settings.prune_batch_size is
  'sweep() deletes at most this many jobs per call, so one call stays short.';
comment on column public.leaseflow_settings.worker_batch_size is
  'Steps one worker invocation claims per batch; tick() and the enqueue kick divide the backlog by it.';
comment on column public.leaseflow_settings.max_invocations is
  'tick() keeps at most this many worker invocations running; 0 turns the Edge Function workers off.';
comment on column public.leaseflow_settings.live_worker_window is
  'A registered edge worker counts as alive while its heartbeat is younger than this.';
comment on column public.leaseflow_settings.wakeup_grace is
  'A wake-up counts as an invocation on its way this long, until the invocation it woke registers.';
comment on column public.leaseflow_settings.kick_debounce is
  'An enqueue wakes workers at most once per this window.';
comment on column public.leaseflow_settings.last_kick_at is
  'When workers were last woken (by tick() or an enqueue); the kick''s debounce reads it.';
comment on column public.leaseflow_settings.tenant_enqueue_rate is
  'Jobs per second one authenticated tenant may enqueue on average (its token bucket''s refill rate); null turns the limit off.';
comment on column public.leaseflow_settings.tenant_enqueue_burst is
  'Jobs one tenant may enqueue at once (its token bucket''s size); also the largest batch a tenant may send.';

comment on column public.leaseflow_settings.fair_claiming is
  'Tenants take turns in the claim order, priority ordering jobs on the same turn (true); or priority first, then run_at, for everyone (false). Applies to jobs queued from then on.';

alter table public.leaseflow_settings enable row level security;
revoke all on table public.leaseflow_settings from public, anon, authenticated;
grant select, insert, update, delete on table public.leaseflow_settings to service_role;
