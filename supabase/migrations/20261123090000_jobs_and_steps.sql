-- leaseflow: jobs and their steps.
--
-- A job is a unit of work an app asks for; its steps run in `seq` order (steps sharing a seq
-- may run in parallel). Workers claim steps under a lease; every state transition is one SQL
-- function (see the claim/complete migration). Only service_role (and the functions, which run
-- as their owner) may touch these tables: on Supabase, default privileges grant every new
-- public table to anon and authenticated, so this file revokes them explicitly.

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  status text not null default 'pending',
  error jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint jobs_status_check
    check (status in ('pending', 'running', 'completed', 'failed', 'cancelled'))
);

comment on table public.jobs is
  'leaseflow jobs: pending → running → completed | failed | cancelled. Changed only through leaseflow''s SQL functions.';
comment on column public.jobs.error is
  'Why the job failed: {code, message, ...} from the step that failed it.';

create table public.job_steps (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references public.jobs (id) on delete cascade,
  seq int not null,
  status text not null default 'pending',
  locked_by text,
  lease_expires_at timestamptz,
  attempt int not null default 0,
  max_attempts int not null default 3,
  input jsonb,
  output jsonb,
  error jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  constraint job_steps_status_check
    check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  constraint job_steps_attempt_check check (attempt >= 0),
  constraint job_steps_max_attempts_check check (max_attempts >= 1),
  -- A running step always has an owner and a deadline; the sweep relies on it.
  constraint job_steps_running_has_lease_check
    check (status <> 'running' or (locked_by is not null and lease_expires_at is not null))
);

comment on table public.job_steps is
  'leaseflow steps: claimed by workers under a lease (locked_by, lease_expires_at). Changed only through leaseflow''s SQL functions.';
comment on column public.job_steps.seq is
  'Run order inside the job: a step is claimable once every step with a lower seq is completed.';
comment on column public.job_steps.attempt is
  'Claims so far, counting the current one; the step fails when a lease expires at attempt = max_attempts.';
comment on column public.job_steps.lease_expires_at is
  'While running: when the claim lapses and another worker may take the step over.';
comment on column public.job_steps.error is
  'The last error of this step ({code, message, ...}), kept when it is retried.';

-- The claim path scans only rows that can be claimed, in claim order, so it costs the same
-- with 0 or with millions of finished rows (finished rows are not in this index at all).
create index job_steps_claimable_idx on public.job_steps (created_at, seq, id)
  where status = 'pending' and attempt < max_attempts;

-- Finds expired leases with a probe over running rows only.
create index job_steps_lease_idx on public.job_steps (lease_expires_at)
  where status = 'running';

-- Serves the foreign key, the seq gate ("is an earlier step unfinished?") and "is the job done?".
create index job_steps_job_id_seq_idx on public.job_steps (job_id, seq);

alter table public.jobs enable row level security;
alter table public.job_steps enable row level security;

revoke all on table public.jobs, public.job_steps from public, anon, authenticated;
grant select, insert, update, delete on table public.jobs, public.job_steps to service_role;
