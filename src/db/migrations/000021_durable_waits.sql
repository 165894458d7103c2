-- Durable waits (issue 9, second part): a step of kind `sleep` waits for a duration or until a time; a
-- step of kind `signal` waits for a named signal sent to its task (send_signal), optionally with a
-- timeout. Neither holds a worker slot while it waits: the claim (flow_control bit 8) defers a sleep to
-- its wake time like a rate-limited step, and parks a signal wait (parked_on = 'signal:<task>:<name>')
-- until the signal wakes it, or defers it to its timeout. A signal sent before its step waits is kept in
-- `signals` and taken when the step is claimed. When a wait ends the step runs the built-in handler
-- `tasker:wait`, which returns the signal's payload (or the time slept) as the step's results, or fails
-- on a timeout. The wait is one `step.throttled` audit row, however long it lasts.

ALTER TABLE :TASKER_SCHEMA.steps
  ADD COLUMN wait jsonb,
  ADD COLUMN waiting_since timestamptz;
COMMENT ON COLUMN :TASKER_SCHEMA.steps.wait IS
  'A wait step: {sleep_ms} or {until} (sleep), or {signal, timeout_ms, timeout_retryable} (signal).';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.waiting_since IS 'When its current wait began (NULL: not waiting).';

CREATE TABLE :TASKER_SCHEMA.signals (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id bigint NOT NULL REFERENCES :TASKER_SCHEMA.tasks (id) ON DELETE CASCADE,
  name varchar(128) NOT NULL,
  payload jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  consumed_by bigint,
  consumed_at timestamptz
);
COMMENT ON TABLE :TASKER_SCHEMA.signals IS
  'Signals sent to tasks (send_signal): each is taken, oldest first, by one step of the task that waits for '
  'its name (consumed_by), whether it was sent before or while the step waited.';
CREATE INDEX signals_unconsumed ON :TASKER_SCHEMA.signals (task_id, name, id) WHERE consumed_by IS NULL;
CREATE INDEX signals_task ON :TASKER_SCHEMA.signals (task_id);

-- Sends a signal: refused for a task that does not exist (TKNF1) or has finished (TKOP1). The steps of
-- the task that wait for it are locked first, so a claim that is about to park one either sees the
-- signal or is seen parked and woken here.
CREATE FUNCTION :TASKER_SCHEMA.send_signal(p_task_id bigint, p_name text, p_payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_id bigint;
  v_waiting bigint[];
BEGIN
  SELECT state INTO v_state FROM :TASKER_SCHEMA.tasks WHERE id = p_task_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'task % does not exist', p_task_id USING ERRCODE = 'TKNF1';
  END IF;
  IF v_state NOT IN ('pending', 'in_progress') THEN
    RAISE EXCEPTION 'task % is %: it takes no more signals', p_task_id, v_state USING ERRCODE = 'TKOP1';
  END IF;
  SELECT array_agg(s.id ORDER BY s.id) INTO v_waiting FROM (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    WHERE s.task_id = p_task_id AND s.state IN ('pending', 'waiting_for_retry') AND s.wait ->> 'signal' = p_name
    ORDER BY s.id FOR UPDATE
  ) s;
  INSERT INTO :TASKER_SCHEMA.signals (task_id, name, payload) VALUES (p_task_id, p_name, p_payload)
  RETURNING id INTO v_id;
  IF v_waiting IS NOT NULL THEN
    UPDATE :TASKER_SCHEMA.steps SET parked_on = NULL, run_at = least(run_at, now()), updated_at = now()
    WHERE id = ANY (v_waiting) AND waiting_since IS NOT NULL AND pending_parents = 0;
    IF FOUND THEN
      PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    END IF;
  END IF;
  RETURN v_id;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.send_signal(bigint, text, jsonb) IS
  'Sends a named signal with a payload to a task; a step waiting for it is woken, one not yet waiting '
  'takes it when it gets there. Returns the signal id.';

-- Internal: which of the locked candidate wait steps may end now. Sleeps end at their time; signal
-- waits end with a signal (taken here) or at their timeout (the built-in handler then fails). The step's
-- inputs tell the built-in handler which.
CREATE FUNCTION :TASKER_SCHEMA._admit_waits(p_ids bigint[])
RETURNS TABLE (id bigint, admitted boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_wake timestamptz;
  v_since timestamptz;
  v_payload jsonb;
  v_signal bigint;
BEGIN
  FOR r IN
    SELECT s.id, s.task_id, s.wait, s.waiting_since FROM unnest(p_ids) AS u (id)
    JOIN :TASKER_SCHEMA.steps s ON s.id = u.id
  LOOP
    id := r.id;
    IF r.wait IS NULL THEN
      admitted := true; RETURN NEXT; CONTINUE;
    END IF;
    v_since := coalesce(r.waiting_since, now());
    IF r.wait ? 'signal' THEN
      UPDATE :TASKER_SCHEMA.signals g SET consumed_by = r.id, consumed_at = now()
      WHERE g.id = (SELECT x.id FROM :TASKER_SCHEMA.signals x
        WHERE x.task_id = r.task_id AND x.name = r.wait ->> 'signal' AND x.consumed_by IS NULL
        ORDER BY x.id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING g.id, g.payload INTO v_signal, v_payload;
      IF v_signal IS NOT NULL THEN
        UPDATE :TASKER_SCHEMA.steps SET inputs = jsonb_build_object('signal', r.wait ->> 'signal',
          'payload', v_payload, 'signal_id', v_signal) WHERE steps.id = r.id;
        admitted := true; RETURN NEXT; CONTINUE;
      END IF;
      v_wake := v_since + make_interval(secs => (r.wait ->> 'timeout_ms')::double precision / 1000);
      IF v_wake <= now() THEN
        UPDATE :TASKER_SCHEMA.steps SET inputs = jsonb_build_object('signal', r.wait ->> 'signal',
          'timed_out', true, 'timeout_ms', (r.wait ->> 'timeout_ms')::bigint,
          'retryable', coalesce((r.wait ->> 'timeout_retryable')::boolean, false)) WHERE steps.id = r.id;
        admitted := true; RETURN NEXT; CONTINUE;
      END IF;
      -- Wait: until the timeout (deferred), or until a signal wakes it (parked).
      UPDATE :TASKER_SCHEMA.steps SET waiting_since = v_since, run_at = coalesce(v_wake, run_at),
        parked_on = CASE WHEN v_wake IS NULL THEN 'signal:' || r.task_id || ':' || (r.wait ->> 'signal') END
      WHERE steps.id = r.id;
      PERFORM :TASKER_SCHEMA._throttle_steps(ARRAY[r.id],
        ARRAY[CASE WHEN v_wake IS NULL THEN 'signal:' || r.task_id || ':' || (r.wait ->> 'signal') END],
        ARRAY[jsonb_build_object('waiting_for', 'signal', 'signal', r.wait ->> 'signal', 'timeout_at', v_wake)]);
      IF v_wake IS NOT NULL THEN
        PERFORM pg_notify(':TASKER_CHANNEL:ready', (floor(extract(epoch FROM v_wake) * 1000))::bigint::text);
      END IF;
      admitted := false; RETURN NEXT; CONTINUE;
    END IF;
    -- A sleep.
    v_wake := coalesce((r.wait ->> 'until')::timestamptz,
      v_since + make_interval(secs => (r.wait ->> 'sleep_ms')::double precision / 1000));
    IF v_wake <= now() THEN
      UPDATE :TASKER_SCHEMA.steps SET inputs = jsonb_build_object('slept_until', v_wake) WHERE steps.id = r.id;
      admitted := true; RETURN NEXT; CONTINUE;
    END IF;
    UPDATE :TASKER_SCHEMA.steps SET waiting_since = v_since, run_at = v_wake WHERE steps.id = r.id;
    PERFORM :TASKER_SCHEMA._throttle_steps(ARRAY[r.id], ARRAY[NULL::text],
      ARRAY[jsonb_build_object('waiting_for', 'sleep', 'until', v_wake)]);
    PERFORM pg_notify(':TASKER_CHANNEL:ready', (floor(extract(epoch FROM v_wake) * 1000))::bigint::text);
    admitted := false; RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._admit_waits(bigint[]) IS
  'Internal: ends the waits of locked candidate steps that can end now; defers or parks the others.';
