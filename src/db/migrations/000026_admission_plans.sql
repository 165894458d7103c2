-- _admit_steps (migration 19) was planned once per connection (force_generic_plan): the plan made on the
-- first call, while the tables were still small, kept reading steps without their index as the tables
-- grew, and the rate-limit admission cost about 3 ms per claim (bench section flow, pg_stat_user_functions).
-- Custom plans are made at each call for the rows of that call.
ALTER FUNCTION :TASKER_SCHEMA._admit_steps(bigint[], smallint) SET plan_cache_mode = force_custom_plan;
