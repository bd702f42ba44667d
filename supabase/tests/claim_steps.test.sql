-- claim_steps(p_worker_id, p_lease_duration, p_limit, p_types): batch claims in claim order
-- (with fair claiming off: priority, then run_at, then creation order; fair_claiming.test.sql
-- has the fair order across tenants), delayed and backed-off work not before its
-- time, type filter, the enriched row, argument errors, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(24);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send", "log"]', '{"timeout": "45 seconds"}');
select public.define_job_type('sms', '["send"]');

-- Order with fair claiming off: priority first, then run_at, then creation order (also inside
-- one batch).
update public.leaseflow_settings set fair_claiming = false;
create function pg_temp.enqueue_six() returns void language sql volatile as $$
  select public.enqueue_jobs('mail', '[{"n": 1}, {"n": 2}, {"n": 3}]', '{"priority": 3}');
  select public.enqueue_job('mail', '{"n": 4}', '{"priority": 5}');
  select public.enqueue_job('mail', '{"n": 5}', jsonb_build_object('run_at', now() - interval '1 hour'));
  select public.enqueue_job('sms', '{"n": 6}', '{"priority": 1}');
$$;
select pg_temp.enqueue_six();

create function pg_temp.claim_one_n() returns int language sql volatile as
  $$ select (payload ->> 'n')::int from public.claim_steps('w1', '1 minute', 1) $$;
select results_eq(
  $$ select pg_temp.claim_one_n() from generate_series(1, 6) $$,
  $$ values (4), (5), (1), (2), (3), (6) $$,
  'fair claiming off: claims the highest priority first, then the earliest run_at, then creation order (also within a batch)');
select is((select count(*) from public.all_steps where status = 'running' and attempt = 1), 6::bigint,
  'each job''s first step was claimed once');
select is_empty($$ select * from public.claim_steps('w2', '1 minute', 10) $$, 'nothing is claimed twice');

-- The same jobs under fair claiming (the default), all of one tenant: in turn order, priority
-- deciding between jobs on the same turn; a run_at in the past buys no earlier turn.
delete from public.jobs;
update public.leaseflow_settings set fair_claiming = true;
select pg_temp.enqueue_six();
select results_eq(
  $$ select pg_temp.claim_one_n() from generate_series(1, 6) $$,
  $$ values (4), (1), (2), (3), (5), (6) $$,
  'fair claiming: the priority 5 job shares the head''s turn and goes first; the others keep their turns');

-- Delayed and backed-off steps are not claimable before their time.
delete from public.jobs;
select public.enqueue_job('mail', '{"n": 7}', jsonb_build_object('run_at', now() + interval '10 minutes'));
select is_empty($$ select * from public.claim_steps('w1', '1 minute', 10) $$, 'a delayed job is not claimable before run_at');
update public.jobs set run_at = now() - interval '1 second';
select is((select (payload ->> 'n')::int from public.claim_steps('w1', '1 minute', 10)), 7,
  'once run_at has passed, the claim path starts the job and claims its step');

delete from public.jobs;
create temp table one on commit drop as select * from public.enqueue_job('mail', '{"n": 8}');
-- mail's steps run on the job row (every group one step): the step's run_at is the job's.
update public.jobs set run_at = now() + interval '30 seconds' where id = (select id from one);
select is_empty($$ select * from public.claim_steps('w1', '1 minute', 10) $$, 'a step backing off is not claimable before its run_at');
update public.jobs set run_at = now() where id = (select id from one);

-- The enriched row.
create temp table c on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select row_eq(
  $$ select job_type, step_name, seq, attempt, max_attempts, lease_expires_at, timeout_ms, payload, previous_outputs from c $$,
  row('mail'::text, 'send'::text, 0, 1, 3, now() + interval '1 minute', 45000::bigint, '{"n": 8}'::jsonb, '{}'::jsonb),
  'a claimed row carries type, step name, attempt, lease, timeout, payload and earlier outputs');
select is((select job_id from c), (select id from one), 'and its job id');
select isnt_empty($$ select * from public.complete_step((select step_id from c), 'w1', '{"message_id": "m-1"}') $$,
  'the first step completes');
select is((select previous_outputs from public.claim_steps('w1', '1 minute', 10)), '{"send": {"message_id": "m-1"}}'::jsonb,
  'the next step sees the earlier outputs by step name');

-- Type filter and limit.
delete from public.jobs;
select public.enqueue_jobs('mail', '[{}, {}, {}]');
select public.enqueue_jobs('sms', '[{}, {}]');
select is((select count(*) from public.claim_steps('w1', '1 minute', 10, array['sms'])), 2::bigint, 'p_types limits the claim to those types');
select is((select count(*) from public.claim_steps('w1', '1 minute', 2)), 2::bigint, 'p_limit caps the batch');
select is((select count(*) from public.claim_steps('w1', '1 minute', 2)), 1::bigint, 'and the rest comes next');
-- Several types: each is read in its own queue, and the batch is the first of them all in the
-- claim order, whatever the order of p_types.
delete from public.jobs;
create temp table queued on commit drop as
  select n, (case when n % 2 = 1 then public.enqueue_job('mail', jsonb_build_object('n', n))
                  else public.enqueue_job('sms', jsonb_build_object('n', n)) end).id as job_id
    from generate_series(1, 7) n;
select results_eq(
  $$ select (payload ->> 'n')::int from public.claim_steps('w1', '1 minute', 3, array['sms', 'mail']) $$,
  $$ values (1), (2), (3) $$,
  'p_types of two types: the first three of both in the claim order, interleaved');
select is((select count(*) from public.claim_steps('w1', '1 minute', 2, array['mail', 'mail'])), 2::bigint,
  'a type named twice is read once: both mail jobs left, not one of them twice');
select is((select count(*) from public.claim_steps('w1', '1 minute', 10, array['sms'])), 2::bigint, 'and the two sms jobs left');

-- Argument errors.
select throws_ok($$ select * from public.claim_steps('w1', '1 minute', 0) $$, '22023',
  'claim_steps: p_limit must be from 1 to 1000, got 0', 'a zero limit');
select throws_ok($$ select * from public.claim_steps('w1', '1 minute', 1001) $$, '22023',
  'claim_steps: p_limit must be from 1 to 1000, got 1001', 'a limit over 1000');
select throws_ok($$ select * from public.claim_steps('w1', '1 minute', 10, array[]::text[]) $$, '22023',
  'claim_steps: p_types must be null (every type) or a non-empty array of type names, got {}', 'an empty type list');
select throws_ok($$ select * from public.claim_steps('', '1 minute') $$, '22023',
  'claim_steps: p_worker_id must be a non-empty string, got ''''', 'an empty worker id');
select throws_ok($$ select * from public.claim_steps('w1', '-1 minute') $$, '22023',
  'claim_steps: p_lease_duration must be positive, got ''-00:01:00''', 'a negative lease');

set local role authenticated;
select throws_ok($$ select * from public.claim_steps('w1', '1 minute') $$, '42501',
  'permission denied for function claim_steps', 'authenticated cannot claim');
reset role;
set local role anon;
select throws_ok($$ select * from public.claim_steps('w1', '1 minute') $$, '42501',
  'permission denied for function claim_steps', 'anon cannot claim');
reset role;

select * from finish();
rollback;
