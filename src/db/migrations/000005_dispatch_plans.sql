-- Plan choice for the dispatch functions. PL/pgSQL caches a generic plan for each statement after a few
-- calls; plans made while the tables were small (a fresh schema) choose sequential scans for the
-- `id = ANY($n)` lookups and keep them when the tables have grown, which made dispatch cost grow with
-- history. A custom plan per call costs a little planning and always uses the indexes.
ALTER FUNCTION :TASKER_SCHEMA.create_tasks SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA._start_tasks SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA._start_steps SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA.claim_steps SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA._finish_tasks SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA._record_outcomes SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA.finish_steps SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA.reap_lost_steps SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION :TASKER_SCHEMA.release_steps SET plan_cache_mode = force_custom_plan;
