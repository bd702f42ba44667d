-- A job whose type has one step is its own step: the jobs row is claimed and settled in place,
-- with no job_steps row, and every transition and read treats it as that step: the claim (also
-- shared with job_steps rows in one claim order), completion, a retry, a lapsed lease on the
-- last attempt, cancel_job while held, retry_job, job_timeline and get_job.
begin;
create extension if not exists pgtap with schema extensions;
select plan(21);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('ping', '["send"]', '{"max_attempts": 2}');
select public.define_job_type('flow', '["a", "b"]');
update public.leaseflow_settings set fair_claiming = false;

create temp table one on commit drop as select * from public.enqueue_job('ping', '{"n": 1}');
select is((select count(*) from public.job_steps where job_id = (select id from one)), 0::bigint,
  'a job of a one-step type has no job_steps row');
select row_eq($$ select id, job_id, seq, name, status, attempt, max_attempts from public.all_steps where job_id = (select id from one) $$,
  row((select id from one), (select id from one), 0, 'send'::text, 'pending'::text, 0, 2),
  'all_steps shows it as its own step: the job''s id, seq 0, the type''s step name, pending, the type''s attempts');

create temp table c1 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select row_eq($$ select step_id, job_id, step_name, attempt, max_attempts from c1 $$,
  row((select id from one), (select id from one), 'send'::text, 1, 2),
  'the claim hands the job out as its step');
select row_eq($$ select locked_by, lease_expires_at > now(), attempt from public.jobs where id = (select id from one) $$,
  row('w1'::text, true, 1), 'the job row holds the lease');

select public.fail_step((select id from one), 'w1', '{"message": "busy"}', interval '1 hour');
select row_eq($$ select status, locked_by, queue_at, error ->> 'message', run_at > now() + interval '59 minutes'
                  from public.all_steps where id = (select id from one) $$,
  row('pending'::text, null::text, null::timestamptz, 'busy'::text, true),
  'a retried attempt leaves the claim queue until its run_at, its error kept');
select is_empty($$ select * from public.claim_steps('w2', '1 minute', 10) $$, 'and is not claimed before then');
update public.jobs set run_at = now() - interval '1 second' where id = (select id from one);
select is((select attempt from public.claim_steps('w2', '1 minute', 10)), 2, 'once due it is claimed again, for its next attempt');

update public.jobs set lease_expires_at = now() - interval '1 second' where id = (select id from one);
select public.sweep();
select row_eq($$ select status, error ->> 'code', locked_by from public.jobs where id = (select id from one) $$,
  row('failed'::text, 'lease_expired'::text, null::text), 'a lease lapsing on the last attempt fails the job');
select results_eq($$ select attempt, worker_id, outcome from public.job_timeline where job_id = (select id from one) order by attempt $$,
  $$ values (1, 'w1'::text, 'retried'::text), (2, 'w2', 'lease_expired') $$,
  'job_timeline lists every attempt of the job''s own step');

select public.retry_job((select id from one));
select row_eq($$ select j.status, s.status, s.attempt from public.jobs j join public.all_steps s on s.id = j.id
                 where j.id = (select id from one) $$,
  row('running'::text, 'pending'::text, 0), 'retry_job gives it a fresh budget of attempts and queues it again');

select public.claim_steps('w3', '1 minute', 10);
select public.complete_steps('w3', jsonb_build_array(jsonb_build_object('step_id', (select id from one), 'output', '{"sent": true}'::jsonb)));
select row_eq($$ select status, result, completed_by, locked_by, finished_at is not null from public.jobs where id = (select id from one) $$,
  row('completed'::text, '{"sent": true}'::jsonb, 'w3'::text, null::text, true),
  'complete_steps completes the job in place, its output the result');
select row_eq($$ select s ->> 'status', s ->> 'attempt', jsonb_array_length(s -> 'attempts')
                  from jsonb_array_elements(public.get_job((select id from one)) -> 'steps') s $$,
  row('completed'::text, '1'::text, 3),
  'get_job shows its one step with every attempt: the two before retry_job and the one that completed it');

create temp table two on commit drop as select * from public.enqueue_job('ping', '{"n": 2}');
select public.claim_steps('w4', '1 minute', 10);
select public.cancel_job((select id from two), 'stop');
select row_eq($$ select status, locked_by, lease_expires_at from public.jobs where id = (select id from two) $$,
  row('cancelled'::text, null::text, null::timestamptz), 'cancelling a held job ends its lease');
select is((select outcome from public.step_attempts where job_id = (select id from two)), 'cancelled',
  'and records the running attempt as cancelled');
select is_empty($$ select * from public.complete_steps('w4', jsonb_build_array(jsonb_build_object('step_id', (select id from two)))) $$,
  'the old holder''s late completion then changes nothing');

-- Sent back to pending by retry_job behind its group key's running job, it still shows its step
-- and the attempts it ran.
delete from public.jobs;
create temp table keyed on commit drop as select * from public.enqueue_job('ping', '{"n": 6}', '{"group_key": "k"}');
select public.claim_steps('w7', '1 minute', 10);
select public.fail_step((select id from keyed), 'w7', '{"message": "bad"}', null, true);
select public.enqueue_job('ping', '{"n": 7}', '{"group_key": "k"}');
select public.retry_job((select id from keyed));
select row_eq($$ select j.status, s.status, s.attempt from public.jobs j join public.all_steps s on s.id = j.id
                 where j.id = (select id from keyed) $$,
  row('pending'::text, 'pending'::text, 0), 'a retried job waiting behind its group key still shows its step');
select results_eq($$ select attempt, worker_id, outcome from public.job_timeline where job_id = (select id from keyed) $$,
  $$ values (1, 'w7'::text, 'failed'::text) $$, 'and job_timeline its attempt before retry_job');

-- One claim order across both kinds (fair claiming off: priority first).
delete from public.jobs;
select public.enqueue_job('ping', '{"n": 3}', '{"priority": 2}');
select public.enqueue_job('flow', '{"n": 4}', '{"priority": 5}');
select public.enqueue_job('ping', '{"n": 5}', '{"priority": 4}');
select results_eq($$ select (payload ->> 'n')::int from public.claim_steps('w5', '1 minute', 2) $$, $$ values (4), (5) $$,
  'one claim takes from both kinds in the claim order, up to its limit');
select results_eq($$ select (payload ->> 'n')::int from public.claim_steps('w6', '1 minute', 10) $$, $$ values (3) $$,
  'and leaves the rest to the next claim');

-- One settle across the kinds: a job that is its own step, one with a group key (its lane then
-- starts the key's next job) and a step row, each completed and returned once.
delete from public.jobs;
create temp table mixed on commit drop as
  select (select id from public.enqueue_job('ping', '{"n": 6}')) as plain,
         (select id from public.enqueue_job('ping', '{"n": 7}', '{"group_key": "m"}')) as keyed,
         (select id from public.enqueue_job('ping', '{"n": 8}', '{"group_key": "m"}')) as next_keyed,
         (select id from public.enqueue_job('flow', '{"n": 9}')) as flow;
create temp table held on commit drop as select * from public.claim_steps('w8', '1 minute', 10);
select results_eq(
  $$ select s.job_id, s.status from public.complete_steps('w8',
       (select jsonb_agg(jsonb_build_object('step_id', h.step_id, 'output', h.payload)) from held h)) s order by s.job_id $$,
  $$ select x.id, 'completed'::text from mixed m cross join unnest(array[m.plain, m.keyed, m.flow]) x(id) order by x.id $$,
  'one settle completes a job that is its own step, a keyed one and a step row, each returned once');
select results_eq(
  $$ select (select status from public.jobs where id = m.plain), (select status from public.jobs where id = m.keyed),
            (select status from public.jobs where id = m.next_keyed), (select status from public.jobs where id = m.flow),
            (select output from public.job_steps where job_id = m.flow and name = 'a') from mixed m $$,
  $$ values ('completed'::text, 'completed'::text, 'running'::text, 'running'::text, '{"n": 9}'::jsonb) $$,
  'the two jobs complete, the key''s next job starts, the step row keeps its output and its job goes on');

select * from finish();
rollback;
