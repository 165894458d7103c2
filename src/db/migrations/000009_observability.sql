-- Observability: the original's analytics functions (reference section 3) with the same fields, plus the
-- cheap figures metrics read at every scrape and the list of live workers. All read-only.
-- Durations are in seconds. A step's duration is its last attempt: last_attempted_at to completed_at; a
-- task's is created_at to completed_at.

CREATE FUNCTION :TASKER_SCHEMA.system_health_counts()
RETURNS TABLE (
  total_tasks bigint, pending_tasks bigint, in_progress_tasks bigint, complete_tasks bigint,
  error_tasks bigint, cancelled_tasks bigint, resolved_manually_tasks bigint,
  total_steps bigint, pending_steps bigint, in_progress_steps bigint, waiting_for_retry_steps bigint,
  complete_steps bigint, error_steps bigint, cancelled_steps bigint, resolved_manually_steps bigint,
  skipped_steps bigint, retryable_error_steps bigint, exhausted_retry_steps bigint, in_backoff_steps bigint,
  live_workers bigint, active_connections bigint, max_connections integer
)
LANGUAGE sql STABLE AS $$
  SELECT t.total, t.pending, t.in_progress, t.complete, t.error, t.cancelled, t.resolved,
    s.total, s.pending, s.in_progress, s.waiting, s.complete, s.error, s.cancelled, s.resolved, s.skipped,
    s.retryable_error, s.exhausted, s.in_backoff,
    (SELECT count(*) FROM :TASKER_SCHEMA.workers w
     WHERE w.stopped_at IS NULL AND w.last_heartbeat_at > now() - make_interval(secs => w.lease_ms / 1000.0)),
    (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()),
    current_setting('max_connections')::integer
  FROM (
    SELECT count(*) AS total,
      count(*) FILTER (WHERE state = 'pending') AS pending,
      count(*) FILTER (WHERE state = 'in_progress') AS in_progress,
      count(*) FILTER (WHERE state = 'complete') AS complete,
      count(*) FILTER (WHERE state = 'error') AS error,
      count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
      count(*) FILTER (WHERE state = 'resolved_manually') AS resolved
    FROM :TASKER_SCHEMA.tasks
  ) t, (
    SELECT count(*) AS total,
      count(*) FILTER (WHERE state = 'pending') AS pending,
      count(*) FILTER (WHERE state = 'in_progress') AS in_progress,
      count(*) FILTER (WHERE state = 'waiting_for_retry') AS waiting,
      count(*) FILTER (WHERE state = 'complete') AS complete,
      count(*) FILTER (WHERE state = 'error') AS error,
      count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
      count(*) FILTER (WHERE state = 'resolved_manually') AS resolved,
      count(*) FILTER (WHERE state = 'skipped') AS skipped,
      count(*) FILTER (WHERE state = 'waiting_for_retry') AS retryable_error,
      count(*) FILTER (WHERE state = 'error' AND attempts - attempts_base >= retry_limit) AS exhausted,
      count(*) FILTER (WHERE state = 'waiting_for_retry' AND run_at > now()) AS in_backoff
    FROM :TASKER_SCHEMA.steps
  ) s
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.system_health_counts() IS
  'One row: tasks and steps by state; retryable_error_steps (failed, a retry is due: waiting_for_retry), '
  'exhausted_retry_steps (in error after using every attempt), in_backoff_steps (retry time still ahead), '
  'live workers, and the database''s connections in use and allowed. Scans both tables: for dashboards, '
  'not hot paths.';

CREATE FUNCTION :TASKER_SCHEMA.analytics_metrics(p_since timestamptz DEFAULT now() - interval '1 hour')
RETURNS TABLE (
  active_tasks_count bigint, total_namespaces_count bigint, unique_task_types_count bigint,
  system_health_score numeric, task_throughput bigint, completion_count bigint, error_count bigint,
  completion_rate numeric, error_rate numeric, avg_task_duration numeric, avg_step_duration numeric,
  step_throughput bigint, analysis_period_start timestamptz, calculated_at timestamptz
)
LANGUAGE sql STABLE AS $$
  WITH w AS (
    SELECT count(*) AS created,
      count(*) FILTER (WHERE state = 'complete') AS completed,
      count(*) FILTER (WHERE state = 'error') AS errored,
      count(DISTINCT named_task_id) AS types,
      avg(extract(epoch FROM completed_at - created_at)) FILTER (WHERE state = 'complete') AS avg_duration
    FROM :TASKER_SCHEMA.tasks WHERE created_at >= p_since
  ), st AS (
    SELECT count(*) AS completed,
      avg(extract(epoch FROM completed_at - last_attempted_at)) AS avg_duration
    FROM :TASKER_SCHEMA.steps
    WHERE state = 'complete' AND completed_at >= p_since AND last_attempted_at IS NOT NULL
  )
  SELECT
    (SELECT count(*) FROM :TASKER_SCHEMA.tasks WHERE state IN ('pending', 'in_progress')),
    (SELECT count(*) FROM :TASKER_SCHEMA.task_namespaces),
    w.types,
    CASE WHEN w.created = 0 THEN 1.0
      ELSE round(0.7 * w.completed / w.created + 0.3 * (1 - w.errored::numeric / w.created), 3) END,
    w.created, w.completed, w.errored,
    CASE WHEN w.created = 0 THEN 0.0 ELSE round(w.completed::numeric / w.created, 4) END,
    CASE WHEN w.created = 0 THEN 0.0 ELSE round(w.errored::numeric / w.created, 4) END,
    round(coalesce(w.avg_duration, 0)::numeric, 3),
    round(coalesce(st.avg_duration, 0)::numeric, 3),
    st.completed, p_since, now()
  FROM w, st
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.analytics_metrics(timestamptz) IS
  'Figures for the window since p_since (default: the last hour), over the tasks created in it: '
  'task_throughput (created), completion_count / error_count (of those, now complete / in error), '
  'completion_rate and error_rate (of task_throughput, 0 when none), avg_task_duration (s, complete ones), '
  'system_health_score = 0.7 x completion_rate + 0.3 x (1 - error_rate) (1.0 when no tasks); steps '
  'completed in the window: step_throughput and avg_step_duration (s). active_tasks_count and '
  'total_namespaces_count are current, whatever the window.';

CREATE FUNCTION :TASKER_SCHEMA.slowest_steps(
  p_since timestamptz DEFAULT now() - interval '24 hours', p_limit integer DEFAULT 10,
  p_namespace text DEFAULT NULL, p_name text DEFAULT NULL, p_version text DEFAULT NULL)
RETURNS TABLE (
  step_id bigint, task_id bigint, step_name text, namespace text, task_name text, version text,
  duration_seconds numeric, attempts integer, retry_limit integer, completed_at timestamptz
)
LANGUAGE sql STABLE AS $$
  SELECT s.id, s.task_id, s.name::text, ns.name::text, nt.name::text, nt.version::text,
    round(extract(epoch FROM s.completed_at - s.last_attempted_at)::numeric, 3),
    s.attempts - s.attempts_base, s.retry_limit, s.completed_at
  FROM :TASKER_SCHEMA.steps s
  JOIN :TASKER_SCHEMA.named_tasks nt ON nt.id = s.named_task_id
  JOIN :TASKER_SCHEMA.task_namespaces ns ON ns.id = nt.namespace_id
  WHERE s.state = 'complete' AND s.completed_at >= p_since AND s.last_attempted_at IS NOT NULL
    AND (p_namespace IS NULL OR ns.name = p_namespace)
    AND (p_name IS NULL OR nt.name = p_name)
    AND (p_version IS NULL OR nt.version = p_version)
  ORDER BY s.completed_at - s.last_attempted_at DESC, s.id
  LIMIT greatest(p_limit, 0)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.slowest_steps(timestamptz, integer, text, text, text) IS
  'The longest-running completed steps since p_since (default 24 h), at most p_limit (default 10), '
  'optionally of one namespace / task name / version. duration_seconds is the successful attempt.';

CREATE FUNCTION :TASKER_SCHEMA.slowest_tasks(
  p_since timestamptz DEFAULT now() - interval '24 hours', p_limit integer DEFAULT 10,
  p_namespace text DEFAULT NULL, p_name text DEFAULT NULL, p_version text DEFAULT NULL)
RETURNS TABLE (
  task_id bigint, namespace text, task_name text, version text, state text, duration_seconds numeric,
  step_count integer, failed_steps integer, created_at timestamptz, completed_at timestamptz
)
LANGUAGE sql STABLE AS $$
  SELECT t.id, ns.name::text, nt.name::text, nt.version::text, t.state::text,
    round(extract(epoch FROM t.completed_at - t.created_at)::numeric, 3),
    t.step_count, t.failed_steps, t.created_at, t.completed_at
  FROM :TASKER_SCHEMA.tasks t
  JOIN :TASKER_SCHEMA.named_tasks nt ON nt.id = t.named_task_id
  JOIN :TASKER_SCHEMA.task_namespaces ns ON ns.id = nt.namespace_id
  WHERE t.completed_at IS NOT NULL AND t.created_at >= p_since
    AND (p_namespace IS NULL OR ns.name = p_namespace)
    AND (p_name IS NULL OR nt.name = p_name)
    AND (p_version IS NULL OR nt.version = p_version)
  ORDER BY t.completed_at - t.created_at DESC, t.id
  LIMIT greatest(p_limit, 0)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.slowest_tasks(timestamptz, integer, text, text, text) IS
  'The longest finished tasks (creation to completion) created since p_since (default 24 h), at most '
  'p_limit (default 10), optionally of one namespace / task name / version.';

CREATE FUNCTION :TASKER_SCHEMA.queue_stats()
RETURNS TABLE (ready_steps bigint, oldest_ready_age_seconds numeric, in_progress_steps bigint, live_workers bigint)
LANGUAGE sql STABLE AS $$
  SELECT r.n, coalesce(round(extract(epoch FROM now() - r.oldest)::numeric, 3), 0),
    (SELECT count(*) FROM :TASKER_SCHEMA.steps WHERE state = 'in_progress'),
    (SELECT count(*) FROM :TASKER_SCHEMA.workers w
     WHERE w.stopped_at IS NULL AND w.last_heartbeat_at > now() - make_interval(secs => w.lease_ms / 1000.0))
  FROM (
    SELECT count(*) AS n, min(run_at) AS oldest FROM :TASKER_SCHEMA.steps
    WHERE pending_parents = 0 AND state IN ('pending', 'waiting_for_retry') AND run_at <= now()
  ) r
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.queue_stats() IS
  'What metrics read at each scrape: ready steps (claimable now) and the age of the oldest, running '
  'steps, live workers. Reads only the partial ready and running indexes and the workers table; '
  'ready steps of cancelled or blocked tasks are not claimable but counted until they are swept.';

CREATE FUNCTION :TASKER_SCHEMA.live_workers()
RETURNS TABLE (
  id uuid, name text, hostname text, pid integer, concurrency integer, namespaces text[],
  started_at timestamptz, last_heartbeat_at timestamptz, lease_ms integer, running_steps bigint
)
LANGUAGE sql STABLE AS $$
  SELECT w.id, w.name, w.hostname, w.pid, w.concurrency, w.namespaces, w.started_at, w.last_heartbeat_at,
    w.lease_ms,
    (SELECT count(*) FROM :TASKER_SCHEMA.steps s WHERE s.worker_id = w.id AND s.state = 'in_progress')
  FROM :TASKER_SCHEMA.workers w
  WHERE w.stopped_at IS NULL AND w.last_heartbeat_at > now() - make_interval(secs => w.lease_ms / 1000.0)
  ORDER BY w.started_at, w.id
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.live_workers() IS
  'Workers whose last heartbeat is within their lease (heartbeats are one row update per worker per '
  'interval), with the steps each is running.';
