-- release_steps(p_worker_id, p_step_ids): give steps back on shutdown without consuming the
-- attempt; only the worker's own running steps.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send"]');
select public.enqueue_jobs('mail', '[{}, {}, {}]');
create temp table mine on commit drop as select * from public.claim_steps('w1', '1 minute', 2);
create temp table theirs on commit drop as select * from public.claim_steps('w2', '1 minute', 1);

select is((select count(*) from public.release_steps('w1', array[(select step_id from mine limit 1)])), 1::bigint,
  'releases the listed step');
select is((select count(*) from public.release_steps('w1')), 1::bigint, 'with no list, releases all the worker''s steps');
select results_eq(
  $$ select status, attempt, locked_by from public.all_steps where id in (select step_id from mine) $$,
  $$ values ('pending'::text, 0, null::text), ('pending'::text, 0, null::text) $$,
  'released steps are pending again and their attempt is not consumed');
select is((select count(*) from public.step_attempts where outcome = 'released' and worker_id = 'w1'), 2::bigint,
  'the releases are recorded');
select row_eq($$ select status, locked_by from public.all_steps where id = (select step_id from theirs) $$,
  row('running'::text, 'w2'::text), 'another worker''s step is untouched');
select throws_ok($$ select * from public.release_steps('w1', array[null]::uuid[]) $$, '22023',
  'release_steps: p_step_ids must not contain null, got {NULL}', 'a null in the list');
set local role anon;
select throws_ok($$ select * from public.release_steps('w1') $$, '42501',
  'permission denied for function release_steps', 'anon cannot release');
reset role;

select * from finish();
rollback;
