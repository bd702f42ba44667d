-- complete_step(p_step_id, p_worker_id, p_output): only the lease holder completes, what it
-- writes, job completion with the last step (parallel groups too), argument errors, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(27);

delete from public.jobs;
insert into public.jobs (id, status) values ('a0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (id, job_id, seq, status, locked_by, lease_expires_at, attempt) values
  ('a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0,
   'running', 'w1', now() + interval '1 minute', 1);
insert into public.job_steps (id, job_id, seq) values
  ('a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 1);

-- Only the holder -------------------------------------------------------------------------
select is_empty(
  $$ select * from public.complete_step('a1000000-0000-4000-8000-000000000001', 'w2', '{"x": 1}') $$,
  'another worker gets no row');
select row_eq(
  $$ select status, locked_by, output from public.job_steps where id = 'a1000000-0000-4000-8000-000000000001' $$,
  row('running'::text, 'w1'::text, null::jsonb),
  'and changes nothing');
select is_empty(
  $$ select * from public.complete_step('a1000000-0000-4000-8000-000000000002', 'w1', '{}') $$,
  'a pending (unclaimed) step cannot be completed');
select is_empty(
  $$ select * from public.complete_step('ffffffff-0000-4000-8000-000000000000', 'w1', '{}') $$,
  'an unknown step id returns no row');

-- The holder completes --------------------------------------------------------------------
create temp table done on commit drop as
  select * from public.complete_step('a1000000-0000-4000-8000-000000000001', 'w1', '{"rows": 42}');
select is((select count(*) from done), 1::bigint, 'the holder gets the completed row back');
select row_eq(
  $$ select status, output, locked_by, lease_expires_at, finished_at from done $$,
  row('completed'::text, '{"rows": 42}'::jsonb, null::text, null::timestamptz, now()),
  'the returned row is completed, carries the output, and has no lock or lease');
select row_eq(
  $$ select status, output, locked_by, lease_expires_at from public.job_steps
      where id = 'a1000000-0000-4000-8000-000000000001' $$,
  row('completed'::text, '{"rows": 42}'::jsonb, null::text, null::timestamptz),
  'the completion is stored');
select is((select status from public.jobs where id = 'a0000000-0000-4000-8000-000000000001'), 'running',
  'the job keeps running while a step is unfinished');
select is_empty(
  $$ select * from public.complete_step('a1000000-0000-4000-8000-000000000001', 'w1', '{"again": true}') $$,
  'completing twice returns no row the second time');
select is((select output from public.job_steps where id = 'a1000000-0000-4000-8000-000000000001'),
  '{"rows": 42}'::jsonb, 'and keeps the first output');

-- The last step completes the job ---------------------------------------------------------
select is((select id from public.claim_next_step('w1')), 'a1000000-0000-4000-8000-000000000002'::uuid,
  'the next step becomes claimable');
select isnt_empty(
  $$ select * from public.complete_step('a1000000-0000-4000-8000-000000000002', 'w1', null) $$,
  'a null output is allowed');
select row_eq(
  $$ select status, finished_at from public.jobs where id = 'a0000000-0000-4000-8000-000000000001' $$,
  row('completed'::text, now()),
  'completing the last step completes the job');

-- Parallel group: the job completes only with the last of them ----------------------------
delete from public.jobs;
insert into public.jobs (id, status) values ('b0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (id, job_id, seq, status, locked_by, lease_expires_at, attempt) values
  ('b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 0, 'running', 'w1', now() + interval '1 minute', 1),
  ('b1000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000001', 0, 'running', 'w2', now() + interval '1 minute', 1);
select isnt_empty(
  $$ select * from public.complete_step('b1000000-0000-4000-8000-000000000001', 'w1', '{}') $$,
  'the first parallel step completes');
select is((select status from public.jobs where id = 'b0000000-0000-4000-8000-000000000001'), 'running',
  'the job waits for its other parallel step');
select isnt_empty(
  $$ select * from public.complete_step('b1000000-0000-4000-8000-000000000002', 'w2', '{}') $$,
  'the second parallel step completes');
select is((select status from public.jobs where id = 'b0000000-0000-4000-8000-000000000001'), 'completed',
  'the job completes with its last parallel step');

-- Lease taken over: the late worker gets nothing -----------------------------------------
delete from public.jobs;
insert into public.jobs (id, status) values ('c0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (id, job_id, seq, status, locked_by, lease_expires_at, attempt) values
  ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 0,
   'running', 'slow-worker', now() - interval '1 second', 1);
select is((select locked_by from public.claim_next_step('w2')), 'w2', 'another worker takes the expired step over');
select is_empty(
  $$ select * from public.complete_step('c1000000-0000-4000-8000-000000000001', 'slow-worker', '{"late": true}') $$,
  'the late worker''s completion returns no row');
select row_eq(
  $$ select status, locked_by, output from public.job_steps where id = 'c1000000-0000-4000-8000-000000000001' $$,
  row('running'::text, 'w2'::text, null::jsonb),
  'and leaves the new holder''s claim untouched');

-- Argument errors -------------------------------------------------------------------------
select throws_ok($$ select * from public.complete_step(null, 'w1', '{}') $$,
  '22004', 'complete_step: p_step_id must not be null', 'a null step id is rejected');
select throws_ok($$ select * from public.complete_step('c1000000-0000-4000-8000-000000000001', null, '{}') $$,
  '22004', 'complete_step: p_worker_id must not be null', 'a null worker id is rejected');
select throws_ok($$ select * from public.complete_step('c1000000-0000-4000-8000-000000000001', '', '{}') $$,
  '22023', 'complete_step: p_worker_id must be a non-empty string, got ''''', 'an empty worker id is rejected');

-- Grants ----------------------------------------------------------------------------------
set local role anon;
select throws_ok($$ select * from public.complete_step('c1000000-0000-4000-8000-000000000001', 'w2', '{}') $$,
  '42501', 'permission denied for function complete_step', 'anon cannot complete');
reset role;
set local role authenticated;
select throws_ok($$ select * from public.complete_step('c1000000-0000-4000-8000-000000000001', 'w2', '{}') $$,
  '42501', 'permission denied for function complete_step', 'authenticated cannot complete');
reset role;
set local role service_role;
select isnt_empty($$ select * from public.complete_step('c1000000-0000-4000-8000-000000000001', 'w2', '{}') $$,
  'service_role completes');
reset role;
select is((select status from public.jobs where id = 'c0000000-0000-4000-8000-000000000001'), 'completed',
  'the new holder''s completion completes the job');

select * from finish();
rollback;
