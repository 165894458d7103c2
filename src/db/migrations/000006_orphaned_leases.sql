-- Leases a worker holds without knowing it. A claim can commit and its reply never reach the worker
-- (the connection drops between COMMIT and the result). The step is then in_progress under a live
-- worker that is not running it: its heartbeat keeps the lease alive, so reaping never takes it back.
-- Each heartbeat therefore also tells the database which steps the worker does hold; any other step
-- leased to it for longer than p_min_age_ms (the lease time: far longer than any reply can be in
-- transit) is released, without charging an attempt, since its handler never ran.

CREATE FUNCTION :TASKER_SCHEMA.release_unknown_steps(p_worker_id uuid, p_known bigint[], p_min_age_ms integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
BEGIN
  SELECT array_agg(s.id ORDER BY s.id) INTO v_ids FROM :TASKER_SCHEMA.steps s
  WHERE s.worker_id = p_worker_id AND s.state = 'in_progress'
    AND NOT (s.id = ANY (coalesce(p_known, '{}')))
    AND s.last_attempted_at < now() - make_interval(secs => p_min_age_ms / 1000.0);
  IF v_ids IS NULL THEN
    RETURN 0;
  END IF;
  RETURN :TASKER_SCHEMA.release_steps(p_worker_id, v_ids,
    'the worker never received this claim (its reply was lost); released unrun');
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.release_unknown_steps(uuid, bigint[], integer) IS
  'Releases the steps leased to a worker that it does not report as held (p_known) and that were '
  'claimed more than p_min_age_ms ago: claims whose reply was lost. Returns how many were released.';
ALTER FUNCTION :TASKER_SCHEMA.release_unknown_steps SET plan_cache_mode = force_custom_plan;
