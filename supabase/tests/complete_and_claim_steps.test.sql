-- complete_and_claim_steps completes like complete_steps and, given a lease, claims for the same
-- worker the next step of each job that runs one step at a time and moves on: one row listing
-- the completed steps and a row per claimed step. The claimed step is held (not in the claim queue),
-- carries the outputs before it, lapses like any claimed step, and a keyed job keeps its key.
-- Without a lease nothing is claimed; a step the worker does not hold is neither completed nor
-- followed; the same write sent again gets the same answer; bad arguments write nothing.
begin;
create extension if not exists pgtap with schema extensions;
select plan(30);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('chain', '["fetch", "parse", "store"]', '{"max_attempts": 3, "timeout": "90 seconds"}');
select public.define_job_type('single', '["go"]');
select public.define_job_type('fan', '["split", ["left", "right"]]');

create temp table chain1 on commit drop as select * from public.enqueue_job('chain', '{"n": 1}');
create temp table chain2 on commit drop as select * from public.enqueue_job('chain', '{"n": 2}');
create temp table single on commit drop as select * from public.enqueue_job('single', '{}');
create temp table fan on commit drop as select * from public.enqueue_job('fan', '{}');
create temp table c1 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select is((select count(*) from c1), 4::bigint, 'w1 holds the first step of each of four jobs');

-- Argument errors: each refused, nothing written.
select throws_ok($$ select * from public.complete_and_claim_steps(null, '[]', '1 minute') $$, '22004',
  'complete_and_claim_steps: p_worker_id must not be null', 'a null worker id');
select throws_ok($$ select * from public.complete_and_claim_steps('w1', null, '1 minute') $$, '22004',
  'complete_and_claim_steps: p_results must not be null', 'a null batch');
select throws_ok($$ select * from public.complete_and_claim_steps('w1', '[{"step_id": "nope"}]', '1 minute') $$, '22023',
  'complete_and_claim_steps: p_results[0] must be an object {step_id: uuid, output?: any JSON}, got {"step_id": "nope"}',
  'a malformed step id, named by its index');
select throws_ok(format($$ select * from public.complete_and_claim_steps('w1', '[{"step_id": "%s"}]', '0 seconds') $$, (select id from chain1)),
  '22023', 'complete_and_claim_steps: p_lease_duration must be positive, got ''00:00:00''', 'a lease that is not positive');
select is((select count(*) from public.all_steps where locked_by = 'w1' and status = 'running' and seq = 0), 4::bigint,
  'the refused calls changed nothing: w1 still holds all four first steps');

-- One batch: two chain jobs move on, the single job completes, the fan job starts its group.
create temp table w1 on commit drop as
  select * from public.complete_and_claim_steps('w1', (select jsonb_agg(jsonb_build_object('step_id', step_id, 'output', jsonb_build_object('from', job_id))) from c1), '2 minutes');
select results_eq($$ select unnest(completed_step_ids) from w1 where completed_step_ids is not null order by 1 $$,
  $$ select step_id from c1 order by 1 $$, 'the completed steps, by their ids');
select results_eq($$ select count(*), count(*) filter (where step_id is null), bool_and(completed_step_ids is not null) from (select * from w1 limit 1) first $$,
  $$ values (1::bigint, 1::bigint, true) $$,
  'listed in one row, the first, which carries nothing else');
select results_eq(
  $$ select job_id, step_id, job_type, step_name, seq, attempt, max_attempts, timeout_ms, lease_expires_at, payload, previous_outputs
       from w1 where completed_step_ids is null order by job_id $$,
  $$ select j.id, j.own_step_id, 'chain'::text, 'parse'::text, 1, 1, 3, 90000::bigint, now() + interval '2 minutes', j.payload,
            jsonb_build_object('fetch', jsonb_build_object('from', j.id))
       from public.jobs j where j.type = 'chain' order by j.id $$,
  'a row for each claimed step: the chain jobs'' next steps, under their own ids, with the outputs before them');
select results_eq($$ select locked_by, lease_expires_at, step_started_at, attempt, status from public.jobs where type = 'chain' $$,
  $$ values ('w1'::text, now() + interval '2 minutes', now(), 1, 'running'::text), ('w1', now() + interval '2 minutes', now(), 1, 'running') $$,
  'the claimed steps are held by w1 on their job rows, attempt 1, started now');
select is((select status from public.jobs where id = (select id from single)), 'completed', 'the one-step job completed');
select is((select count(*) from public.job_steps where job_id = (select id from fan) and status = 'pending'), 2::bigint,
  'the fan job''s parallel group became step rows, not a claimed step');
select results_eq($$ select job_id from public.claim_steps('w2', '1 minute', 10) $$,
  $$ select id from fan union all select id from fan $$,
  'another worker''s claim finds the fan job''s steps only: the claimed next steps are not in the queue');

-- The same write sent again (its answer was lost after the commit): the same answer, no change.
create temp table again on commit drop as
  select * from public.complete_and_claim_steps('w1', (select jsonb_agg(jsonb_build_object('step_id', step_id, 'output', jsonb_build_object('from', job_id))) from c1), '2 minutes');
select results_eq($$ select unnest(completed_step_ids) from again where completed_step_ids is not null order by 1 $$,
  $$ select step_id from c1 order by 1 $$, 'sent again, it reports the steps w1 completed as completed');
select results_eq($$ select step_id, step_name, seq, attempt, lease_expires_at, previous_outputs from again where completed_step_ids is null order by 1 $$,
  $$ select step_id, step_name, seq, attempt, lease_expires_at, previous_outputs from w1 where completed_step_ids is null order by 1 $$,
  'and hands over the steps it claimed after them again, as they were');
select results_eq($$ select step_seq, attempt, locked_by from public.jobs where type = 'chain' $$,
  $$ values (1, 1, 'w1'::text), (1, 1, 'w1') $$, 'changing nothing');
select is((select count(*) from public.job_steps where job_id in (select id from chain1 union all select id from chain2)), 2::bigint,
  'and recording nothing twice');
select is_empty($$ select * from public.complete_and_claim_steps('w9', (select jsonb_agg(jsonb_build_object('step_id', step_id)) from c1), '1 minute') $$,
  'another worker sending that batch gets nothing: the steps were not completed by it');

-- Without a lease: complete_steps' behaviour, the next step queued.
create temp table w1b on commit drop as
  select * from public.complete_and_claim_steps('w1', (select jsonb_agg(jsonb_build_object('step_id', step_id, 'output', seq)) from w1 where step_id is not null), null);
select is((select cardinality(completed_step_ids) from w1b where completed_step_ids is not null), 2, 'without a lease, both steps are completed');
select is((select count(*) from w1b where completed_step_ids is null), 0::bigint, 'and no step is claimed');
select results_eq($$ select step_name, locked_by, attempt, queue_at is not null from public.jobs where type = 'chain' $$,
  $$ values ('store'::text, null::text, 0, true), ('store', null, 0, true) $$,
  'the next steps wait in the claim queue');

-- A step another worker holds is neither completed nor followed by a claim.
create temp table c3 on commit drop as select * from public.claim_steps('w3', '1 minute', 10);
select is_empty(format($$ select * from public.complete_and_claim_steps('w1', '[{"step_id": "%s"}]', '1 minute') $$, (select step_id from c3 limit 1)),
  'w1 cannot complete a step w3 holds, and claims nothing');
select is((select count(*) from public.jobs where type = 'chain' and locked_by = 'w3' and step_seq = 2), 2::bigint, 'w3 still holds both');

-- The last step: the job completes, nothing is claimed.
create temp table w3 on commit drop as
  select * from public.complete_and_claim_steps('w3', (select jsonb_agg(jsonb_build_object('step_id', step_id, 'output', 'done'::text)) from c3), '1 minute');
select is((select count(*) from w3 where completed_step_ids is null), 0::bigint, 'completing a job''s last step claims nothing');
select is((select count(*) from public.jobs where type = 'chain' and status = 'completed' and completed_by = 'w3'), 2::bigint,
  'and completes the job');

-- A claimed next step lapses like any claimed step: its attempt is recorded under its id.
create temp table chain3 on commit drop as select * from public.enqueue_job('chain', '{"n": 3}');
create temp table c4 on commit drop as select * from public.claim_steps('w4', '1 minute', 1);
create temp table w4 on commit drop as
  select * from public.complete_and_claim_steps('w4', jsonb_build_array(jsonb_build_object('step_id', (select step_id from c4))), '1 minute')
   where completed_step_ids is null;
update public.jobs set lease_expires_at = now() - interval '1 second' where id = (select id from chain3);
create temp table c5 on commit drop as select * from public.claim_steps('w5', '1 minute', 1);
select row_eq($$ select step_id, step_name, attempt from c5 $$, row((select step_id from w4), 'parse'::text, 2),
  'once its lease lapses, another worker claims it as its second attempt');
select row_eq($$ select worker_id, outcome, attempt from public.step_attempts where step_id = (select step_id from w4) $$,
  row('w4'::text, 'lease_expired'::text, 1), 'the lapsed attempt is on record under the step''s id');

-- A keyed job keeps its key while its next step is claimed this way.
create temp table k1 on commit drop as select * from public.enqueue_job('chain', '{}', '{"group_key": "g"}');
create temp table k2 on commit drop as select * from public.enqueue_job('chain', '{}', '{"group_key": "g"}');
create temp table c6 on commit drop as select * from public.claim_steps('w6', '1 minute', 10) where job_id = (select id from k1);
select is((select count(*) from public.complete_and_claim_steps('w6', jsonb_build_array(jsonb_build_object('step_id', (select step_id from c6))), '1 minute')
            where completed_step_ids is null and job_id = (select id from k1)), 1::bigint,
  'a keyed job''s next step is claimed too');
select is((select status from public.jobs where id = (select id from k2)), 'pending', 'and the next job of its key still waits');

set local role authenticated;
select throws_ok($$ select * from public.complete_and_claim_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001"}]', '1 minute') $$,
  '42501', 'permission denied for function complete_and_claim_steps', 'authenticated cannot complete or claim');
reset role;

select * from finish();
rollback;
