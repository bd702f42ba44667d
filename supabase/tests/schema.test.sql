-- The jobs / job_steps schema: columns and defaults, constraints, the claim indexes, RLS,
-- table grants, and how the functions are declared (security definer, empty search_path).
begin;
create extension if not exists pgtap with schema extensions;
select plan(52);

select has_table('public', 'jobs', 'jobs exists');
select has_table('public', 'job_steps', 'job_steps exists');
select col_is_pk('public', 'jobs', 'id', 'jobs.id is the primary key');
select col_default_is('public', 'jobs', 'id', 'gen_random_uuid()', 'jobs.id defaults to a random uuid');
select col_is_pk('public', 'job_steps', 'id', 'job_steps.id is the primary key');
select triggers_are('public', 'job_steps', array['job_steps_check_job_ids', 'job_steps_job_id_fixed'],
  'job_steps.job_id is kept to an existing job by triggers (their behaviour: job_children.test.sql)');
select col_default_is('public', 'job_steps', 'attempt', '0', 'attempt defaults to 0');
select col_default_is('public', 'job_steps', 'max_attempts', '3', 'max_attempts defaults to 3');
select col_default_is('public', 'job_steps', 'status', 'pending', 'a step starts pending');
select col_type_is('public', 'job_steps', 'lease_expires_at', 'timestamp with time zone', 'lease_expires_at is a timestamptz');

-- Plain inserts work: every column beyond the essentials has a default.
delete from public.jobs;
select lives_ok(
  $$ insert into public.jobs (id, status) values ('a0000000-0000-4000-8000-000000000001', 'running') $$,
  'insert into jobs (status) works');
select lives_ok(
  $$ insert into public.job_steps (job_id, seq) values ('a0000000-0000-4000-8000-000000000001', 0) $$,
  'insert into job_steps (job_id, seq) works');

-- Constraints.
select throws_ok($$ insert into public.jobs (status) values ('done') $$,
  '23514', null, 'a job status outside the five is rejected');
select throws_ok($$ insert into public.jobs (status) values ('completed') $$,
  '23514', null, 'a finished job without finished_at is rejected');
select throws_ok($$ insert into public.jobs (status, finished_at) values ('pending', now()) $$,
  '23514', null, 'an unfinished job with a finished_at is rejected');
select throws_ok($$ insert into public.jobs (type, status, step_name, queue_at) values ('a', 'pending', 'a', now()) $$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_queued_is_running_check"',
  'a pending job is not in the claim queue');
select throws_ok($$ insert into public.jobs (status, step_name, queue_at, started_at) values ('running', 'a', now(), now()) $$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_queued_has_type_check"',
  'nor a job without a type (the claim queue is kept per type)');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq, status) values ('a0000000-0000-4000-8000-000000000001', 0, 'queued') $$,
  '23514', null, 'a step status outside the five is rejected');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq, attempt) values ('a0000000-0000-4000-8000-000000000001', 0, -1) $$,
  '23514', null, 'a negative attempt is rejected');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq, max_attempts) values ('a0000000-0000-4000-8000-000000000001', 0, 0) $$,
  '23514', null, 'max_attempts below 1 is rejected');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq, status) values ('a0000000-0000-4000-8000-000000000001', 0, 'running') $$,
  '23514', null, 'a running step without an owner and a lease is rejected');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq, status, locked_by, lease_expires_at)
     values ('a0000000-0000-4000-8000-000000000001', 0, 'pending', 'w1', now()) $$,
  '23514', null, 'a step that is not running cannot hold an owner and a lease');
select throws_ok(
  $$ insert into public.job_steps (job_id, seq) values ('b0000000-0000-4000-8000-000000000001', 0) $$,
  '23503', null, 'a step of an unknown job is rejected');

-- Indexes: the claim scans only claimable rows; finished rows are not in those indexes.
select is(
  (select pg_get_expr(i.indpred, i.indrelid) from pg_index i where i.indexrelid = 'public.job_steps_claimable_idx'::regclass),
  '((status = ''pending''::text) AND (attempt < max_attempts) AND (queue_at IS NOT NULL))',
  'the claim index holds only pending steps with attempts left and a place in the queue (not a retry backing off)');
select is(
  (select pg_get_expr(i.indpred, i.indrelid) from pg_index i where i.indexrelid = 'public.job_steps_lease_idx'::regclass),
  '(lease_expires_at IS NOT NULL)',
  'the lease index holds only running steps');
select has_index('public', 'jobs', 'jobs_claimable_idx', array['type', 'queue_rank', 'queue_at', 'priority', 'enqueue_order'],
  'jobs that are their own step wait in one claim queue per type');
select has_index('public', 'job_steps', 'job_steps_job_id_seq_idx', array['job_id', 'seq'],
  'steps are indexed by (job_id, seq) for the seq gate and the foreign key');

-- RLS and table grants.
select ok((select relrowsecurity from pg_class where oid = 'public.jobs'::regclass), 'RLS is enabled on jobs');
select ok((select relrowsecurity from pg_class where oid = 'public.job_steps'::regclass), 'RLS is enabled on job_steps');
select table_privs_are('public', 'jobs', 'anon', array[]::text[], 'anon has no privilege on jobs');
select table_privs_are('public', 'jobs', 'authenticated', array['SELECT'], 'authenticated may only read jobs (RLS limits it to its tenant)');
select table_privs_are('public', 'job_steps', 'anon', array[]::text[], 'anon has no privilege on job_steps');
select table_privs_are('public', 'job_steps', 'authenticated', array['SELECT'], 'authenticated may only read job_steps (RLS limits it to its tenant)');

select ok((select bool_and(relrowsecurity) from pg_class
            where oid in ('public.step_attempts'::regclass, 'public.job_types'::regclass, 'public.leaseflow_settings'::regclass)),
  'RLS is enabled on step_attempts, job_types and leaseflow_settings');
select table_privs_are('public', 'job_types', 'authenticated', array[]::text[], 'authenticated has no privilege on job_types');
select table_privs_are('public', 'leaseflow_settings', 'authenticated', array[]::text[], 'authenticated has no privilege on leaseflow_settings');
select table_privs_are('public', 'step_attempts', 'anon', array[]::text[], 'anon has no privilege on step_attempts');

set local role anon;
select throws_ok($$ select * from public.jobs $$, '42501', 'permission denied for table jobs', 'anon cannot read jobs');
reset role;

-- Sequences: Supabase's default privileges grant them to anon and authenticated like tables.
select is((select count(*)::int from pg_class where relkind = 'S' and relnamespace = 'public'::regnamespace), 4,
  'public holds the three identity sequences (jobs, which job_steps shares, step_attempts, worker_wakeups) and claim_turn_seq');
select is(
  (select array_agg(c.relname::text || ' to ' || r.role || ' (' || p.privilege || ')' order by 1)
     from pg_class c
    cross join (values ('anon'), ('authenticated')) r(role)
    cross join (values ('USAGE'), ('SELECT'), ('UPDATE')) p(privilege)
    where c.relkind = 'S' and c.relnamespace = 'public'::regnamespace
      and has_sequence_privilege(r.role, c.oid, p.privilege)),
  null,
  'anon and authenticated hold no privilege on any sequence in public');
set local role anon;
-- (To its current value: were the privilege there, a sequence is not rolled back.)
select throws_ok($$ select setval('public.jobs_enqueue_order_seq', last_value) from public.jobs_enqueue_order_seq $$,
  '42501', 'permission denied for sequence jobs_enqueue_order_seq', 'anon cannot move a sequence');
reset role;
select is((select extnamespace::regnamespace::text from pg_extension where extname = 'pg_cron'), 'pg_catalog',
  'pg_cron is created in pg_catalog, as Supabase does (not in public)');
set local role authenticated;
select throws_ok($$ insert into public.job_steps (job_id, seq) values ('a0000000-0000-4000-8000-000000000001', 1) $$,
  '42501', 'permission denied for table job_steps', 'authenticated cannot write job_steps');
reset role;

-- Queue tables are vacuumed early and without naps (dead entries at the claim index's head).
select is(
  (select array_agg(c.relname::text order by c.relname)
     from pg_class c
    where c.oid in ('public.jobs'::regclass, 'public.job_steps'::regclass)
      and 'autovacuum_vacuum_cost_delay=0' = any (c.reloptions)
      and 'autovacuum_vacuum_scale_factor=0.01' = any (c.reloptions)),
  array['job_steps', 'jobs'],
  'jobs and job_steps autovacuum at 1 % dead rows, without cost delay');

-- A job's claim and completion write new versions of its row: a fifth of each page is kept for them.
select ok((select 'fillfactor=80' = any (c.reloptions) from pg_class c where c.oid = 'public.jobs'::regclass),
  'jobs pages are filled to 80 %, leaving room for the claim''s and completion''s row versions');

-- Function declarations.
select is_definer('public', 'claim_next_step', array['text', 'interval'], 'claim_next_step is security definer');
select is_definer('public', 'complete_step', array['uuid', 'text', 'jsonb'], 'complete_step is security definer');
select is_definer('public', 'sweep', array[]::text[], 'sweep is security definer');
select is(
  (select array_agg(p.proname::text order by p.proname)
     from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and not coalesce('search_path=""' = any(p.proconfig), false)),
  null,
  'every public function pins an empty search_path');
select function_privs_are('public', '_expire_leases', array[]::text[], 'service_role', array[]::text[],
  'internal helpers are not callable by service_role');
select function_privs_are('public', '_fail_job', array['uuid', 'jsonb'], 'authenticated', array[]::text[],
  'internal helpers are not callable by authenticated');
select function_privs_are('public', 'claim_next_step', array['text', 'interval'], 'service_role', array['EXECUTE'],
  'service_role may claim');

select * from finish();
rollback;
