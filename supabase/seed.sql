-- Two demo users for the dashboard and the API (password sign-in: both passwords are
-- "leaseflow-demo"). A user's jobs are its tenant's (tenant_id = the user's id), so each sees
-- only its own. Local and demo projects only: never seed a production project with these.
-- Re-running it changes nothing (a user that exists is left as it is).
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
                        confirmation_token, recovery_token, email_change_token_new, email_change)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
       extensions.crypt('leaseflow-demo', extensions.gen_salt('bf')), now(),
       '{"provider": "email", "providers": ["email"]}', jsonb_build_object('name', u.name), now(), now(),
       '', '', '', ''
  from (values ('a11ce000-0000-4000-8000-000000000001'::uuid, 'alice@example.com', 'Alice'),
               ('b0b00000-0000-4000-8000-000000000002'::uuid, 'bob@example.com', 'Bob')) u(id, email, name)
on conflict (id) do nothing;

insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id::text, u.id, jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true), 'email', now(), now(), now()
  from auth.users u
 where u.id in ('a11ce000-0000-4000-8000-000000000001', 'b0b00000-0000-4000-8000-000000000002')
on conflict (provider_id, provider) do nothing;
