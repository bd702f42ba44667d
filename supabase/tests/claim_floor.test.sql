-- The claim floor (public.claim_floor): claim_steps reads waiting jobs from it on, so no job may
-- wait before it. Raised to the first waiting job's place (once a second by a claim, or by
-- _raise_claim_floor here); lowered by every transaction that makes a job wait: an enqueue, a
-- retry whose backoff is over, a job of higher priority with fair claiming off, and a held job
-- waiting again at its place (released, lapsed, its next step on its row).
begin;
create extension if not exists pgtap with schema extensions;
select plan(19);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('floor.one', '["go"]');
select public.define_job_type('floor.two', '["a", "b"]');

create function pg_temp.floor() returns text language sql stable as $$
  select format('(%s,%s)', f.queue_rank, f.queue_at) from public.claim_floor f;
$$;
create function pg_temp.place(p_job_id uuid) returns text language sql stable as $$
  select format('(%s,%s)', j.queue_rank, j.queue_at) from public.jobs j where j.id = p_job_id;
$$;
create function pg_temp.enqueue(p_type text, p_n int, p_options jsonb default '{}') returns uuid language sql volatile as $$
  select (public.enqueue_job(p_type, jsonb_build_object('n', p_n), p_options)).id;
$$;
-- The jobs of the next p_limit claimed steps, by payload n, in claim order.
create function pg_temp.claim(p_limit int) returns text language sql volatile as $$
  select coalesce(string_agg(c.payload ->> 'n', ',' order by c.ordinality), '')
    from public.claim_steps('w', '1 minute', p_limit) with ordinality c;
$$;
create function pg_temp.complete_all() returns void language sql volatile as $$
  select count(*) from public.complete_steps('w',
    (select jsonb_agg(jsonb_build_object('step_id', coalesce(j.own_step_id, j.id), 'output', null))
       from public.jobs j where j.locked_by = 'w'));
$$;

create temp table job on commit drop as
  select n, pg_temp.enqueue('floor.one', n) as id from generate_series(1, 3) n;

-- In one transaction now() stands still: a claim raises only when raised_at is a second old.
update public.claim_floor set raised_at = '-infinity';
select is(pg_temp.claim(1), '1', 'the first claim takes job 1');
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 1)),
  'claim_steps raised the floor when a second had passed: to the first waiting job''s place, before it claimed it');
select is((select raised_at from public.claim_floor), now(), 'and noted when');

select public._raise_claim_floor();
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 2)),
  'raised while job 1 is held, the floor passes it: to job 2''s place');

select count(*) from public.release_steps('w');
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 1)),
  'a release lowers the floor to the place where its job waits again');
select is(pg_temp.claim(1), '1', 'and the released job is claimed first');

select pg_temp.complete_all();
select public._raise_claim_floor();
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 2)),
  'with job 1 done, the floor rises to job 2''s place');

select is(pg_temp.claim(5), '2,3', 'jobs 2 and 3 are claimed');
select pg_temp.complete_all();
select public._raise_claim_floor();
select is(pg_temp.floor(), '(32767,infinity)', 'with nothing waiting or held, the floor passes every place');

insert into job select 4, pg_temp.enqueue('floor.one', 4);
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 4)),
  'an enqueue lowers the floor to its job''s place');
select ok(exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.mode = 'ShareLock' and l.pid = pg_backend_pid()),
  'and holds the floor''s lock shared until its transaction ends, so that no raise passes its uncommitted place');

-- A retry leaves the claim order (queue_at null) while it backs off: the floor rises past it,
-- and its new turn lowers it again.
select is(pg_temp.claim(1), '4', 'job 4 is claimed');
select count(*) from public.fail_steps('w', jsonb_build_array(jsonb_build_object(
  'step_id', (select id from job where n = 4), 'error', jsonb_build_object('code', 'x', 'message', 'again'), 'retry_in_ms', 0)));
select public._raise_claim_floor();
select is(pg_temp.claim(1), '4', 'a retry whose backoff is over takes a new place, which lowers the floor, and is claimed');
select pg_temp.complete_all();

-- A job that runs its steps on its row keeps its place for its next step.
insert into job select 5, pg_temp.enqueue('floor.two', 5);
insert into job select 6, pg_temp.enqueue('floor.two', 6);
select pg_temp.claim(1);
select public._raise_claim_floor();
select pg_temp.complete_all();
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 5)),
  'a completion lowers the floor to the place where the job''s next step waits (its own, kept)');
select is(pg_temp.claim(1), '5', 'and that step is claimed before job 6');

select pg_temp.complete_all();
select pg_temp.claim(10);
select pg_temp.complete_all();
select pg_temp.claim(10);
select pg_temp.complete_all();

-- Fair claiming off: rank 5 - priority, at the job's run_at.
update public.leaseflow_settings set fair_claiming = false;
insert into job select 7, pg_temp.enqueue('floor.one', 7);
select public._raise_claim_floor();
insert into job select 8, pg_temp.enqueue('floor.one', 8, '{"priority": 5}');
select is(pg_temp.floor(), pg_temp.place((select id from job where n = 8)),
  'with fair claiming off, a job of higher priority lowers the floor to its rank');
select is(pg_temp.claim(1), '8', 'and is claimed first');

select is(pg_temp.claim(1), '7', 'job 7 is claimed');
select public._raise_claim_floor();
update public.jobs set lease_expires_at = now() - interval '1 second' where id = (select id from job where n = 7);
select is(pg_temp.claim(1), '7', 'a job whose lease lapsed lowers the floor to its place, where it waits again, and is claimed');

select * from finish();
rollback;
