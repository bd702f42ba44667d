-- leaseflow: a wake-up stops counting as "an invocation on its way" once the invocation it woke
-- has registered. Each wake-up now carries its id in the request body ({reason, wakeup_id}); the
-- worker registers with it in its metadata. Before, every wake-up of the last wakeup_grace
-- (10 s) counted as live, even after its invocation had finished: an enqueue right after a
-- short invocation ended was neither kicked nor picked up until the next tick (a minute where
-- pg_cron has no second schedules).

create index workers_wakeup_id_idx on public.workers ((metadata ->> 'wakeup_id'))
  where metadata ? 'wakeup_id';

-- Invocations alive or on their way: registered edge workers with a fresh heartbeat, plus the
-- wake-ups of the last wakeup_grace that no worker has registered for yet.
create or replace function public._live_invocations()
returns int
language sql stable
set search_path = ''
as $$
  select ((select count(*) from public.workers w, public.leaseflow_settings s
            where w.kind = 'edge' and w.stopped_at is null and w.last_heartbeat_at > now() - s.live_worker_window)
        + (select count(*) from public.worker_wakeups u, public.leaseflow_settings s
            where u.sent_at > now() - s.wakeup_grace
              and not exists (select 1 from public.workers w
                               where w.metadata ? 'wakeup_id' and w.metadata ->> 'wakeup_id' = u.id::text)))::int
$$;

create or replace function public._wake_workers(p_count int, p_reason text)
returns int
language plpgsql volatile
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
  v_wakeup_id bigint;
begin
  if p_count <= 0 then
    return 0;
  end if;
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'leaseflow_project_url';
  select s.decrypted_secret into v_secret from vault.decrypted_secrets s where s.name = 'leaseflow_worker_secret';
  if v_url is null or v_secret is null then
    raise warning 'leaseflow: cannot wake workers: the Vault secrets leaseflow_project_url and leaseflow_worker_secret must both exist (see README, Production setup)';
    return 0;
  end if;
  for i in 1..p_count loop
    insert into public.worker_wakeups (reason) values (p_reason) returning id into v_wakeup_id;
    update public.worker_wakeups
       set request_id = net.http_post(
             url := rtrim(v_url, '/') || '/functions/v1/worker',
             body := jsonb_build_object('reason', p_reason, 'wakeup_id', v_wakeup_id),
             headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_secret),
             timeout_milliseconds := 5000)
     where id = v_wakeup_id;
  end loop;
  update public.leaseflow_settings set last_kick_at = now();
  return p_count;
end;
$$;
