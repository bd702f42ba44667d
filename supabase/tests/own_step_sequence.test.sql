-- A job whose type runs one step at a time (every group has one step) is its own step through
-- all its steps: each is claimed and settled on the jobs row under its own id (the job's for the
-- first, jobs.own_step_id after); completing one that is not the last writes its completed
-- job_steps record under that id and moves the job on in place; the last completes the job.
-- Retries, releases, lapsed leases, heartbeats and cancellation of a later step are recorded
-- under its id, a completion by an earlier step's id changes nothing, and a keyed job keeps its
-- key until its last step.
begin;
create extension if not exists pgtap with schema extensions;
select plan(30);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('flow', '["load", "send", "log"]', '{"max_attempts": 3}');

create temp table job on commit drop as select * from public.enqueue_job('flow', '{"n": 1}');
select is((select count(*) from public.job_steps where job_id = (select id from job)), 0::bigint,
  'an enqueued job of a one-step-at-a-time type has no job_steps row');
select row_eq($$ select id, seq, name, status from public.all_steps where job_id = (select id from job) $$,
  row((select id from job), 0, 'load'::text, 'pending'::text), 'all_steps shows its first step under the job''s id');

-- Step 1 (load).
create temp table c1 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select row_eq($$ select step_id, seq, step_name, attempt, previous_outputs from c1 $$,
  row((select id from job), 0, 'load'::text, 1, '{}'::jsonb), 'the first step is claimed under the job''s id');
create temp table queue_place on commit drop as select queue_rank, queue_at, enqueue_order from public.jobs;
create temp table done1 on commit drop as select * from public.complete_step((select step_id from c1), 'w1', '{"rows": 3}');
select row_eq($$ select id, seq, name, status, output, completed_by, attempt from done1 $$,
  row((select id from job), 0, 'load'::text, 'completed'::text, '{"rows": 3}'::jsonb, 'w1'::text, 1),
  'completing it returns it completed, under the id it was claimed by');
select row_eq($$ select id, seq, status, output, completed_by, attempt, started_at is not null, finished_at is not null
                  from public.job_steps where job_id = (select id from job) $$,
  row((select id from job), 0, 'completed'::text, '{"rows": 3}'::jsonb, 'w1'::text, 1, true, true),
  'its completed record is a job_steps row under that id');
select row_eq($$ select status, step_seq, step_name, own_step_id is not null, attempt, locked_by, result, finished_at
                  from public.jobs where id = (select id from job) $$,
  row('running'::text, 1, 'send'::text, true, 0, null::text, null::jsonb, null::timestamptz),
  'the job moves on to its next step in place, with a fresh attempt count');
select row_eq($$ select queue_rank, queue_at, enqueue_order from public.jobs $$,
  (select row(queue_rank, queue_at, enqueue_order) from queue_place),
  'and keeps its place in the claim order');
select results_eq($$ select seq, name, status from public.all_steps where job_id = (select id from job) order by seq $$,
  $$ values (0, 'load'::text, 'completed'::text), (1, 'send', 'pending') $$,
  'all_steps shows the completed step and the next one');

-- Step 2 (send): heartbeat, retry, release, a stale completion, then success.
create temp table c2 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select row_eq($$ select step_id, seq, step_name, attempt, previous_outputs from c2 $$,
  row((select own_step_id from public.jobs), 1, 'send'::text, 1, '{"load": {"rows": 3}}'::jsonb),
  'the next step is claimed under its own id, with the earlier output');
select is_empty($$ select * from public.complete_step((select id from job), 'w1', '{}') $$,
  'a completion by the first step''s id (the job''s) changes nothing once the job has moved on');
select is((select step_seq from public.jobs), 1, 'the job is still on its second step');
select is((select lease_expires_at from public.extend_lease((select step_id from c2), 'w1', '10 minutes')), now() + interval '10 minutes',
  'extend_lease renews it by its id');
select is(array(select public.extend_leases('w1', array[(select step_id from c2)], '20 minutes')), array[(select step_id from c2)],
  'extend_leases renews it by its id');
select row_eq($$ select id, status, attempt, error ->> 'message' from public.fail_step((select step_id from c2), 'w1', '{"message": "busy"}', interval '0') $$,
  row((select step_id from c2), 'pending'::text, 1, 'busy'::text), 'a retried attempt keeps the step''s id');
select is((select attempt from public.claim_steps('w1', '1 minute', 10)), 2, 'once due it is claimed again for its next attempt');
select row_eq($$ select id, status, attempt from public.release_steps('w1') $$,
  row((select step_id from c2), 'pending'::text, 1), 'release_steps gives it back without using the attempt');
select is((select step_id from public.claim_steps('w1', '1 minute', 10)), (select step_id from c2), 'claimed again under the same id');
select isnt_empty($$ select * from public.complete_step((select step_id from c2), 'w1', '{"sent": true}') $$, 'and completed');
select row_eq($$ select id, status, attempt, output, error ->> 'message' from public.job_steps where seq = 1 $$,
  row((select step_id from c2), 'completed'::text, 2, '{"sent": true}'::jsonb, 'busy'::text),
  'its record keeps its id, the completing attempt and its last error');
-- (One transaction: every attempt has the same times, so they are compared by attempt, then name.)
select results_eq($$ select attempt, outcome from public.job_timeline where job_id = (select id from job) and step_name = 'send' order by attempt, outcome $$,
  $$ values (1, 'retried'::text), (2, 'completed'), (2, 'released') $$,
  'job_timeline shows each attempt of the step, recorded under its id');

-- Step 3 (log): a lapsed lease, then the job completes.
create temp table c3 on commit drop as select * from public.claim_steps('w2', '1 minute', 10);
select ok((select step_id from c3) not in ((select id from job), (select step_id from c2)), 'the last step has an id of its own');
select is((select previous_outputs from c3), '{"load": {"rows": 3}, "send": {"sent": true}}'::jsonb, 'and sees both earlier outputs');
update public.jobs set lease_expires_at = now() - interval '1 second';
select public.sweep();
select row_eq($$ select step_id, outcome, worker_id from public.step_attempts where outcome = 'lease_expired' $$,
  row((select step_id from c3), 'lease_expired'::text, 'w2'::text), 'a lapsed lease is recorded under the step''s id');
select public.complete_step((select step_id from public.claim_steps('w3', '1 minute', 10)), 'w3', '{"logged": 1}');
select row_eq($$ select status, result, finished_at is not null from public.jobs $$,
  row('completed'::text, '{"logged": 1}'::jsonb, true), 'the last step completes the job with its output');
select results_eq($$ select id, seq, status, completed_by from public.all_steps where job_id = (select id from job) order by seq $$,
  $$ values ((select id from job), 0, 'completed'::text, 'w1'::text), ((select step_id from c2), 1, 'completed', 'w1'),
            ((select step_id from c3), 2, 'completed', 'w3') $$,
  'all_steps shows the three steps, each under the id it ran under');

-- A keyed job keeps its key until its last step; cancelling a later step records it.
delete from public.jobs;
create temp table k1 on commit drop as select * from public.enqueue_job('flow', '{}', '{"group_key": "g"}');
create temp table k2 on commit drop as select * from public.enqueue_job('flow', '{}', '{"group_key": "g"}');
select public.complete_step((select step_id from public.claim_steps('w1', '1 minute', 10)), 'w1', '{}');
select is((select status from public.jobs where id = (select id from k2)), 'pending', 'a keyed job keeps its key when a step that is not its last completes');
create temp table held on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select is((select step_name from held), 'send', 'its next step is claimed');
select public.cancel_job((select id from k1));
select row_eq($$ select step_id, outcome from public.step_attempts where job_id = (select id from k1) $$,
  row((select step_id from held), 'cancelled'::text), 'cancelling the job records the held step''s attempt under its id');
select is_empty($$ select * from public.complete_step((select step_id from held), 'w1', '{}') $$,
  'and the worker''s late completion changes nothing');
select is((select status from public.jobs where id = (select id from k2)), 'running', 'the key''s next job starts');

select * from finish();
rollback;
