-- Fair claiming (leaseflow_settings.fair_claiming, on by default): tenants take turns in the
-- claim order, so one tenant's burst delays another tenant's job by about one job per busy
-- tenant; priority orders a tenant's own jobs; queue positions follow the same order; off, the
-- order is priority, then run_at, for everyone.
begin;
create extension if not exists pgtap with schema extensions;
select plan(18);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('build', '["compile"]');
-- Virtual time an hour behind the clock, as a standing backlog leaves it, so that a turn taken
-- from a run_at (real time) would land after every queued job. A sequence is not rolled back:
-- its value is put back at the end.
create temp table turn_before on commit drop as select last_value, is_called from public.claim_turn_seq;
select setval('public.claim_turn_seq', (extract(epoch from now() - interval '1 hour') * 1000000)::bigint);

create function pg_temp.burst(p_tenant text, p_count int, p_priority int default 3) returns void language sql volatile as $$
  select public.enqueue_jobs('build', (select jsonb_agg(jsonb_build_object('n', g)) from generate_series(1, p_count) g),
                             jsonb_build_object('tenant_id', p_tenant, 'priority', p_priority));
$$;
create function pg_temp.one(p_tenant text, p_options jsonb default '{}') returns uuid language sql volatile as $$
  select (public.enqueue_job('build', '{}', p_options || jsonb_build_object('tenant_id', p_tenant))).id;
$$;
create function pg_temp.position(p_job_id uuid) returns int language sql stable as $$
  select queue_position from public.job_queue_position(p_job_id);
$$;
-- The tenants of the next p_limit steps in claim order, as letters (a, b, c, s for service_role).
create function pg_temp.claim_tenants(p_limit int) returns text language sql volatile as $$
  select string_agg(case c.tenant_id when 'aaaaaaaa-0000-4000-8000-000000000000' then 'a'
                                     when 'bbbbbbbb-0000-4000-8000-000000000000' then 'b'
                                     when 'cccccccc-0000-4000-8000-000000000000' then 'c' else 's' end, '' order by c.ordinality)
    from public.claim_steps('w', '1 minute', p_limit) with ordinality c;
$$;

-- A burst of 5 000, then another tenant's single job.
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 5000);
create temp table b1 on commit drop as select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000') as id;
select is(pg_temp.position((select id from b1)), 2,
  'after a tenant''s burst of 5 000, another tenant''s job is #2 (behind the head''s turn only)');
create temp table a_last on commit drop as select pg_temp.one('aaaaaaaa-0000-4000-8000-000000000000') as id;
select is(pg_temp.position((select id from a_last)), 5002,
  'the bursting tenant''s own next job waits behind its 5 000 (and the other tenant''s one)');

-- The other tenant's next three take turns with the burst, one each.
select pg_temp.burst('bbbbbbbb-0000-4000-8000-000000000000', 3);
select is(pg_temp.claim_tenants(8), 'abababab',
  'the claim order alternates between the two tenants, a turn each');

-- The head moved on: a third tenant arriving now takes the turn being served (the last claimed).
select pg_temp.claim_tenants(100);
create temp table c1 on commit drop as select pg_temp.one('cccccccc-0000-4000-8000-000000000000') as id;
select is(pg_temp.position((select id from c1)), 1,
  'a tenant arriving after 108 claims takes the turn being served: #1, ahead of the rest of the burst');
select is(pg_temp.claim_tenants(2), 'ca', 'and is claimed next');

-- The turn being served follows the claims (kept to the millisecond: 1 000 turns). Left behind,
-- a tenant arriving later would take the turns from there on, all before the head: its burst
-- would go first instead of taking turns.
select pg_temp.claim_tenants(1000);
select pg_temp.burst('cccccccc-0000-4000-8000-000000000000', 3);
select is(pg_temp.claim_tenants(6), 'cacaca',
  'a tenant arriving after 1 000 more claims takes turns with the head, not turns before it');

-- Priority cannot buy a tenant the others' turns.
delete from public.jobs;
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 2000, 5);
create temp table b2 on commit drop as select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000', '{"priority": 1}') as id;
select is(pg_temp.position((select id from b2)), 2,
  'a priority 1 job of one tenant is #2 behind another tenant''s 2 000 jobs of priority 5');

-- Inside one tenant, priority orders its jobs: a priority 5 job overtakes its own queued 3s.
delete from public.jobs;
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 100);
create temp table urgent on commit drop as select pg_temp.one('aaaaaaaa-0000-4000-8000-000000000000', '{"priority": 5}') as id;
select is(pg_temp.position((select id from urgent)), 1, 'a tenant''s priority 5 job goes before its own 100 queued jobs');
select is((select job_id from public.claim_steps('w', '1 minute', 1)), (select id from urgent), 'and is claimed first');

-- Jobs started later (a group key's next, a retried job) take their turns like new ones.
delete from public.jobs;
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 1000);
create temp table keyed on commit drop as
  select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000', '{"group_key": "k"}') as first,
         pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000', '{"group_key": "k"}') as second;
select pg_temp.claim_tenants(10);
select public.cancel_job((select first from keyed));
select is(pg_temp.position((select second from keyed)), 1,
  'a group key''s next job, started when the one before it ends, takes the turn being served: #1, not a turn behind the 1 000');
create temp table again on commit drop as select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000') as id;
select public.cancel_job((select id from again));
select pg_temp.claim_tenants(10);
select public.retry_job((select id from again));
select is(pg_temp.position((select id from again)), 1, 'so does a retried job');

-- A retry leaves the claim order while it backs off and, when due, takes the turn being served
-- (a turn at its run_at would come after every job queued in the next hour).
delete from public.jobs;
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 1000);
create temp table flaky on commit drop as select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000') as id;
select pg_temp.claim_tenants(2);
select public.fail_step((select id from public.all_steps where job_id = (select id from flaky)), 'w', '{"code": "flaky"}', '1 minute');
select is((select queue_at from public.all_steps where job_id = (select id from flaky)), null,
  'a step backing off has no place in the claim order');
select is(pg_temp.claim_tenants(4), 'aaaa', 'and is not claimed before its run_at');
-- (build has one step: the job is its own step, so its run_at is the step's.)
update public.jobs set run_at = now() - interval '1 second' where id = (select id from flaky);
select is(pg_temp.claim_tenants(2), 'ba', 'once due, it takes the turn being served and is claimed next, not after an hour of turns');

-- Service role's jobs (no tenant) are one tenant among the others.
delete from public.jobs;
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 1000);
select public.enqueue_job('build', '{}');
select is(pg_temp.claim_tenants(2), 'as', 'service_role''s job takes a turn like any tenant''s');

-- Off: priority first, then run_at, then creation order, for everyone.
delete from public.jobs;
update public.leaseflow_settings set fair_claiming = false;
select pg_temp.burst('aaaaaaaa-0000-4000-8000-000000000000', 5000);
create temp table b3 on commit drop as select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000') as id;
select is(pg_temp.position((select id from b3)), 5001, 'with fair claiming off, the job waits behind the whole burst');
select is(pg_temp.claim_tenants(10), 'aaaaaaaaaa', 'and the next claim takes only the burst''s jobs');
create temp table b4 on commit drop as select pg_temp.one('bbbbbbbb-0000-4000-8000-000000000000', '{"priority": 4}') as id;
select is(pg_temp.position((select id from b4)), 1, 'while a higher priority goes before every lower one');

select setval('public.claim_turn_seq', last_value, is_called) from turn_before;
select * from finish();
rollback;
