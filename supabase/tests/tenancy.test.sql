-- Tenancy: an authenticated user enqueues as itself (never as another tenant) and reads only
-- its own jobs, steps, attempts and figures; another tenant's job is "not found".
begin;
create extension if not exists pgtap with schema extensions;
select plan(16);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('build', '["compile"]');
select public.define_job_type('ship', '["pack", ["send", "notify"]]');

-- Tenant B's job, made by service_role.
create temp table theirs on commit drop as
  select * from public.enqueue_job('build', '{"secret": true}', '{"tenant_id": "bbbbbbbb-0000-4000-8000-000000000000", "group_key": "chat-1"}');
grant select on theirs to authenticated;
select public.enqueue_job('ship', '{"secret": true}', '{"tenant_id": "bbbbbbbb-0000-4000-8000-000000000000"}');
-- service_role's own job (no tenant), with a dedupe key.
select public.enqueue_job('build', '{"secret": "service"}', '{"dedupe_key": "nightly"}');

-- Tenant A, as PostgREST would run a request with A's JWT.
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);

create temp table mine on commit drop as select * from public.enqueue_job('build', '{"n": 1}', '{"group_key": "chat-1"}');
-- A job with a parallel group: its steps are job_steps rows (build's one step runs on its job row).
select public.enqueue_job('ship', '{"n": 2}');
select is((select tenant_id from mine), 'aaaaaaaa-0000-4000-8000-000000000000'::uuid, 'an authenticated user''s job belongs to it');
select is((select status from mine), 'running', 'its chat-1 is not tenant B''s chat-1');
select throws_ok($$ select public.enqueue_job('build', '{}', '{"tenant_id": "bbbbbbbb-0000-4000-8000-000000000000"}') $$, '42501',
  'enqueue_job: p_options.tenant_id may only be set by service_role; your jobs always belong to you', 'a tenant cannot be spoofed');
select is((select count(*) from public.jobs), 2::bigint, 'it reads only its own jobs');
select is((select count(*) from public.job_steps), 1::bigint, 'and step rows');
select is((select count(*) from public.all_steps), 2::bigint, 'and steps, its jobs that are their own step included');
select is((select sum(running) from public.queue_stats), 2::numeric, 'its stats count only its jobs');
select throws_ok($$ select public.cancel_job((select id from theirs)) $$, 'PT404',
  format('cancel_job: job %s not found', (select id from theirs)), 'another tenant''s job is not found');
select throws_ok($$ select * from public.job_queue_position((select id from theirs)) $$, 'PT404',
  format('job_queue_position: job %s not found', (select id from theirs)), 'nor is its position');
select lives_ok($$ select public.cancel_job((select id from mine)) $$, 'it may cancel its own job');
select lives_ok($$ select public.retry_job((select id from mine)) $$, 'and retry it');
select throws_ok($$ update public.jobs set status = 'completed' $$, '42501', 'permission denied for table jobs',
  'it cannot write the tables directly');
select throws_ok($$ select * from public.claim_steps('w', '1 minute') $$, '42501', 'permission denied for function claim_steps',
  'nor claim');

-- A JWT without a user id is refused.
select set_config('request.jwt.claims', '{"role": "authenticated"}', true);
select throws_ok($$ select public.enqueue_job('build', '{}') $$, '42501',
  'enqueue_job: the JWT of an authenticated caller must carry a sub (user id)', 'an authenticated call needs a user id');
-- The nil uuid stands for "no tenant": as a sub it would match service_role's job by dedupe key.
select set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-000000000000", "role": "authenticated"}', true);
select throws_ok($$ select public.enqueue_job('build', '{}', '{"dedupe_key": "nightly"}') $$, '42501',
  'enqueue_job: the JWT sub 00000000-0000-0000-0000-000000000000 is not a user id (the nil uuid stands for no tenant)',
  'a JWT whose sub is the nil uuid is refused (it cannot reach service_role''s jobs)');
reset role;
select set_config('request.jwt.claims', '', true);

select is((select count(*) from public.jobs), 5::bigint, 'service_role sees both tenants'' jobs and its own');

select * from finish();
rollback;
