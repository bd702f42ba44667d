-- leaseflow: job types.
--
-- A job type names an ordered list of step groups (a group of several steps runs in parallel)
-- and the options every job of the type inherits. define_job_type() writes it; the TypeScript
-- registry publishes its handlers' definitions through that function, so SQL and code agree.

create table public.job_types (
  type text primary key,
  -- Normalised step groups: an array of arrays of step names, e.g. [["send"], ["crm", "tag"]].
  steps jsonb not null,
  max_attempts int not null default 3,
  backoff_base interval not null default '1 second',
  backoff_max interval not null default '1 hour',
  backoff_jitter numeric not null default 0.2,
  step_timeout interval not null default '5 minutes',
  priority smallint not null default 3,
  -- Per group key: how many jobs of one key may run at once, and how many may start per window.
  group_concurrency int not null default 1,
  group_rate_limit int,
  group_rate_interval interval,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_types_max_attempts_check check (max_attempts between 1 and 100),
  constraint job_types_backoff_check
    check (backoff_base > interval '0' and backoff_max >= backoff_base and backoff_jitter between 0 and 1),
  constraint job_types_step_timeout_check check (step_timeout > interval '0'),
  constraint job_types_priority_check check (priority between 1 and 5),
  constraint job_types_group_concurrency_check check (group_concurrency >= 1),
  constraint job_types_group_rate_check
    check ((group_rate_limit is null) = (group_rate_interval is null)
           and (group_rate_limit is null or (group_rate_limit >= 1 and group_rate_interval > interval '0')))
);

comment on table public.job_types is
  'leaseflow job types: step groups and options, written by define_job_type().';

alter table public.job_types enable row level security;
revoke all on table public.job_types from public, anon, authenticated;
grant select, insert, update, delete on table public.job_types to service_role;
