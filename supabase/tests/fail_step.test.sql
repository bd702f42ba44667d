-- fail_step(p_step_id, p_worker_id, p_error, p_retry_in, p_permanent): retry with the type's
-- jittered exponential backoff or at p_retry_in; permanent failure and the last attempt fail
-- the step and the job and cancel the rest; every attempt recorded; holder guard; errors.
begin;
create extension if not exists pgtap with schema extensions;
select plan(25);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send", ["crm", "tag"]]',
  '{"max_attempts": 3, "backoff": {"base": "10 seconds", "max": "25 seconds", "jitter": 0.5}}');
create temp table job on commit drop as select * from public.enqueue_job('mail', '{}');
create temp table c on commit drop as select * from public.claim_steps('w1', '1 minute', 1);

-- Transient: back to pending with backoff.
create temp table f1 on commit drop as
  select * from public.fail_step((select step_id from c), 'w1', '{"message": "timeout", "code": "ETIMEDOUT"}');
select row_eq($$ select status, locked_by, lease_expires_at, attempt, error from f1 $$,
  row('pending'::text, null::text, null::timestamptz, 1, '{"message": "timeout", "code": "ETIMEDOUT"}'::jsonb),
  'a transient failure puts the step back to pending with its error, the attempt counted');
select ok((select run_at between now() + interval '5 seconds' and now() + interval '15 seconds' from f1),
  'the first retry waits base (10 s) ± 50 % jitter');
select is((select status from public.jobs where id = (select id from job)), 'running', 'the job keeps running');
select row_eq($$ select attempt, worker_id, outcome, error ->> 'message' from public.step_attempts $$,
  row(1, 'w1'::text, 'retried'::text, 'timeout'::text), 'the attempt is recorded as retried');
select is_empty($$ select * from public.claim_steps('w1', '1 minute') $$, 'it is not claimable during its backoff');

update public.job_steps set run_at = now() where id = (select step_id from c);
select is((select attempt from public.claim_steps('w1', '1 minute')), 2, 'after the backoff it is claimed again as attempt 2');
select ok((select run_at between now() + interval '10 seconds' and now() + interval '25 seconds'
             from public.fail_step((select step_id from c), 'w1', '{"message": "timeout"}')),
  'the second retry waits 2 × base, capped at max (25 s), with jitter');

-- p_retry_in overrides the backoff (rate limits).
update public.job_steps set run_at = now() where id = (select step_id from c);
select is((select attempt from public.claim_steps('w1', '1 minute')), 3, 'claimed for its last attempt');
update public.job_steps set max_attempts = 4 where id = (select step_id from c);
select is((select run_at from public.fail_step((select step_id from c), 'w1', '{"message": "429"}', interval '90 seconds')),
  now() + interval '90 seconds', 'p_retry_in sets the retry time exactly');

-- The last attempt fails the step and the job.
update public.job_steps set run_at = now() where id = (select step_id from c);
select is((select attempt from public.claim_steps('w1', '1 minute')), 4, 'claimed for its last attempt');
select is((select status from public.fail_step((select step_id from c), 'w1', '{"message": "timeout"}')), 'failed',
  'failing the last attempt fails the step');
select row_eq($$ select status, error ->> 'message', error ->> 'step', (error ->> 'attempt')::int, finished_at
                    from public.jobs where id = (select id from job) $$,
  row('failed'::text, 'timeout'::text, 'send'::text, 4, now()),
  'and the job, with the error, the step and the attempt');
select is((select array_agg(outcome order by id) from public.step_attempts),
  array['retried', 'retried', 'retried', 'failed'], 'every attempt is in the record');

-- Permanent: fail at once, cancel the running siblings.
create temp table job2 on commit drop as select * from public.enqueue_job('mail', '{}');
create temp table c2 on commit drop as select * from public.claim_steps('w1', '1 minute', 1);
select isnt_empty($$ select * from public.complete_step((select step_id from c2), 'w1', '{}') $$, 'the first step completes');
create temp table c3 on commit drop as select * from public.claim_steps('w1', '1 minute', 2);
select is((select status from public.fail_step((select step_id from c3 where step_name = 'crm'), 'w1', '{"message": "invalid address"}', null, true)),
  'failed', 'a permanent failure fails the step on its first attempt');
select is((select status from public.job_steps where id = (select step_id from c3 where step_name = 'tag')), 'cancelled',
  'its running sibling is cancelled');
select is_empty($$ select * from public.complete_step((select step_id from c3 where step_name = 'tag'), 'w1', '{}') $$,
  'so the sibling''s late completion changes nothing');
select is((select status from public.jobs where id = (select id from job2)), 'failed', 'the job fails');

-- The backoff itself, over many draws: jitter spreads the delay, max bounds it.
select ok((select min(d) >= interval '5 seconds' and max(d) <= interval '15 seconds' and max(d) - min(d) > interval '2 seconds'
             from (select public._retry_delay('mail', 1) as d from generate_series(1, 200)) draws),
  'attempt 1 waits base ± jitter: 10 s ± 50 %, spread out');
select is((select max(public._retry_delay('mail', 6)) from generate_series(1, 200)), interval '25 seconds',
  'a late attempt never waits longer than max, jitter included');
select ok((select min(d) >= interval '0.5 seconds' and max(d) <= interval '1.2 seconds'
             from (select public._retry_delay(null, 1) as d from generate_series(1, 200)) draws),
  'a hand-made job uses the default backoff (1 s ± 20 %)');

-- Holder guard and argument errors.
select is_empty($$ select * from public.fail_step((select step_id from c3 where step_name = 'crm'), 'w1', '{"message": "again"}') $$,
  'a step that is no longer running cannot be failed again');
select throws_ok($$ select * from public.fail_step((select step_id from c), 'w1', '"oops"') $$, '22023',
  'fail_step: p_error must be a JSON object such as {"message": "..."}, got "oops"', 'an error that is not an object');
select throws_ok($$ select * from public.fail_step((select step_id from c), 'w1', '{}', interval '-1 second') $$, '22023',
  'fail_step: p_retry_in must not be negative, got ''-00:00:01''', 'a negative retry delay');
select throws_ok($$ select * from public.fail_step((select step_id from c), 'w1', '{}', interval '1 second', true) $$, '22023',
  'fail_step: p_retry_in (''00:00:01'') cannot be combined with p_permanent = true', 'retry_in with permanent');

select * from finish();
rollback;
