-- claim_next_step(p_worker_id, p_lease_duration): which step is claimable, what a claim
-- writes, lease takeover, attempt exhaustion, job/seq gating, argument errors, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(39);

delete from public.jobs;

-- Nothing to do ----------------------------------------------------------------------------
select is_empty($$ select * from public.claim_next_step('w1') $$,
  'returns no row when nothing is claimable');

-- First in order, and what a claim writes --------------------------------------------------
insert into public.jobs (id, status) values
  ('a0000000-0000-4000-8000-000000000001', 'running'),
  ('a0000000-0000-4000-8000-000000000002', 'running');
insert into public.job_steps (id, job_id, seq, queue_at) values
  ('a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', 0, now() - interval '1 minute'),
  ('a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, now() - interval '2 minutes');

create temp table claimed on commit drop as
  select * from public.claim_next_step('w1', interval '30 seconds');

select is((select count(*) from claimed), 1::bigint, 'returns exactly one row');
select is((select id from claimed), 'a1000000-0000-4000-8000-000000000001'::uuid,
  'claims the first claimable step in the claim order (the earliest queue_at), not the first inserted');
select is((select status from claimed), 'running', 'the claimed step is running');
select is((select locked_by from claimed), 'w1', 'locked_by is the claiming worker');
select is((select lease_expires_at from claimed), now() + interval '30 seconds',
  'lease_expires_at is now() + p_lease_duration');
select is((select attempt from claimed), 1, 'the claim counts an attempt');
select row_eq(
  $$ select status, locked_by, attempt from public.job_steps where id = 'a1000000-0000-4000-8000-000000000001' $$,
  row('running'::text, 'w1'::text, 1),
  'the claim is stored, not only returned');

select is((select lease_expires_at from public.claim_next_step('w2')), now() + interval '5 minutes',
  'the lease defaults to 5 minutes');
select is_empty($$ select * from public.claim_next_step('w3') $$,
  'running steps under a live lease are not claimable');

-- Expired lease: taken over with the next attempt -------------------------------------------
delete from public.jobs;
insert into public.jobs (id, status) values ('b0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (id, job_id, seq, status, locked_by, lease_expires_at, attempt) values
  ('b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 0,
   'running', 'crashed-worker', now() - interval '1 second', 1);

select results_eq(
  $$ select id, status, locked_by, attempt from public.claim_next_step('w2') $$,
  $$ values ('b1000000-0000-4000-8000-000000000001'::uuid, 'running'::text, 'w2'::text, 2) $$,
  'a step whose lease expired is claimed by another worker as its next attempt');
select is(
  (select error ->> 'code' from public.job_steps where id = 'b1000000-0000-4000-8000-000000000001'),
  'lease_expired', 'the lost lease is recorded as the step''s last error');

-- Attempts used up ------------------------------------------------------------------------
delete from public.jobs;
insert into public.jobs (id, status) values ('c0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (job_id, seq, attempt, max_attempts) values
  ('c0000000-0000-4000-8000-000000000001', 0, 3, 3);
select is_empty($$ select * from public.claim_next_step('w1') $$,
  'a pending step with attempt = max_attempts is not claimable');

update public.job_steps set attempt = 2;
select is((select attempt from public.claim_next_step('w1')), 3,
  'a pending step with one attempt left is claimed for its last attempt');

-- Expired lease on the last attempt: swept to failed, never returned -------------------------
delete from public.jobs;
insert into public.jobs (id, status) values ('d0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (id, job_id, seq, status, locked_by, lease_expires_at, attempt, max_attempts) values
  ('d1000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 0,
   'running', 'crashed-worker', now() - interval '1 second', 3, 3);
insert into public.job_steps (id, job_id, seq) values
  ('d1000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 1);

select is_empty($$ select * from public.claim_next_step('w1') $$,
  'an expired step with no attempts left is not claimed');
select row_eq(
  $$ select status, locked_by, lease_expires_at, error ->> 'code' from public.job_steps
      where id = 'd1000000-0000-4000-8000-000000000001' $$,
  row('failed'::text, null::text, null::timestamptz, 'lease_expired'::text),
  'the claim path fails an expired step with no attempts left');
select row_eq(
  $$ select status, error ->> 'code' from public.jobs where id = 'd0000000-0000-4000-8000-000000000001' $$,
  row('failed'::text, 'lease_expired'::text),
  'its job fails with the step''s error');
select is((select status from public.job_steps where id = 'd1000000-0000-4000-8000-000000000002'),
  'cancelled', 'the failed job''s remaining steps are cancelled');

-- Job status gating -----------------------------------------------------------------------
delete from public.jobs;
insert into public.jobs (id, status) values ('e0000000-0000-4000-8000-000000000001', 'pending');
insert into public.job_steps (job_id, seq) values ('e0000000-0000-4000-8000-000000000001', 0);
select is_empty($$ select * from public.claim_next_step('w1') $$, 'steps of a pending job are not claimable');
update public.jobs set status = 'completed', finished_at = now();
select is_empty($$ select * from public.claim_next_step('w1') $$, 'steps of a completed job are not claimable');
update public.jobs set status = 'failed', finished_at = now();
select is_empty($$ select * from public.claim_next_step('w1') $$, 'steps of a failed job are not claimable');
update public.jobs set status = 'cancelled', finished_at = now();
select is_empty($$ select * from public.claim_next_step('w1') $$, 'steps of a cancelled job are not claimable');
update public.jobs set status = 'running', finished_at = null;
select isnt_empty($$ select * from public.claim_next_step('w1') $$, 'steps of a running job are claimable');

-- Seq gating ------------------------------------------------------------------------------
delete from public.jobs;
insert into public.jobs (id, status, created_at) values
  ('f0000000-0000-4000-8000-000000000001', 'running', now() - interval '1 hour'),
  ('f0000000-0000-4000-8000-000000000002', 'running', now());
insert into public.job_steps (id, job_id, seq, created_at) values
  ('f1000000-0000-4000-8000-000000000000', 'f0000000-0000-4000-8000-000000000001', 0, now() - interval '1 hour'),
  ('f1000000-0000-4000-8000-00000000001a', 'f0000000-0000-4000-8000-000000000001', 1, now() - interval '1 hour'),
  ('f1000000-0000-4000-8000-00000000001b', 'f0000000-0000-4000-8000-000000000001', 1, now() - interval '1 hour'),
  ('f1000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000001', 2, now() - interval '1 hour'),
  ('f2000000-0000-4000-8000-000000000000', 'f0000000-0000-4000-8000-000000000002', 0, now());

select is((select id from public.claim_next_step('w1')), 'f1000000-0000-4000-8000-000000000000'::uuid,
  'seq 0 is claimed first');
select is((select id from public.claim_next_step('w1')), 'f2000000-0000-4000-8000-000000000000'::uuid,
  'while seq 0 runs, later steps of its job wait and another job''s step is claimed instead');
select is_empty($$ select * from public.claim_next_step('w1') $$,
  'a step is not claimable while an earlier step of its job is running');

update public.job_steps set status = 'completed', locked_by = null, lease_expires_at = null
 where id = 'f1000000-0000-4000-8000-000000000000';
select set_eq(
  $$ select id from public.claim_next_step('w1') union all select id from public.claim_next_step('w2') $$,
  array['f1000000-0000-4000-8000-00000000001a', 'f1000000-0000-4000-8000-00000000001b']::uuid[],
  'steps sharing a seq are claimable in parallel once the earlier seq is completed');
select is_empty($$ select * from public.claim_next_step('w3') $$,
  'seq 2 waits until every seq 1 step is completed');

update public.job_steps set status = 'completed', locked_by = null, lease_expires_at = null
 where id = 'f1000000-0000-4000-8000-00000000001a';
select is_empty($$ select * from public.claim_next_step('w3') $$,
  'one completed step of a parallel group is not enough');

update public.job_steps set status = 'failed', locked_by = null, lease_expires_at = null
 where id = 'f1000000-0000-4000-8000-00000000001b';
select is_empty($$ select * from public.claim_next_step('w3') $$,
  'an earlier step that failed (not completed) keeps later steps gated');

-- Argument errors -------------------------------------------------------------------------
select throws_ok($$ select * from public.claim_next_step(null) $$,
  '22004', 'claim_next_step: p_worker_id must not be null', 'a null worker id is rejected');
select throws_ok($$ select * from public.claim_next_step('') $$,
  '22023', 'claim_next_step: p_worker_id must be a non-empty string, got ''''', 'an empty worker id is rejected');
select throws_ok($$ select * from public.claim_next_step('   ') $$,
  '22023', 'claim_next_step: p_worker_id must be a non-empty string, got ''   ''', 'a blank worker id is rejected');
select throws_ok($$ select * from public.claim_next_step('w1', interval '0') $$,
  '22023', 'claim_next_step: p_lease_duration must be positive, got ''00:00:00''', 'a zero lease is rejected');
select throws_ok($$ select * from public.claim_next_step('w1', interval '-1 second') $$,
  '22023', 'claim_next_step: p_lease_duration must be positive, got ''-00:00:01''', 'a negative lease is rejected');
select throws_ok($$ select * from public.claim_next_step('w1', null) $$,
  '22004', 'claim_next_step: p_lease_duration must not be null', 'a null lease is rejected');

-- Grants ----------------------------------------------------------------------------------
set local role anon;
select throws_ok($$ select * from public.claim_next_step('w1') $$,
  '42501', 'permission denied for function claim_next_step', 'anon cannot claim');
reset role;
set local role authenticated;
select throws_ok($$ select * from public.claim_next_step('w1') $$,
  '42501', 'permission denied for function claim_next_step', 'authenticated cannot claim');
reset role;
set local role service_role;
select lives_ok($$ select * from public.claim_next_step('w1') $$, 'service_role can claim');
reset role;

select * from finish();
rollback;
