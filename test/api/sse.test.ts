import { afterEach, describe, expect, test } from 'vitest';
import { startServer } from '../../src/api/index.js';
import { createTasker, type Tasker } from '../../src/index.js';
import { BACKENDS, PG_URL, testTasker } from '../helpers.js';
import { registerTemplates } from './api-helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads server-sent events from a stream until `until` says enough (or the time runs out). */
async function readEvents(
  response: Response,
  until: (events: SseEvent[]) => boolean,
  timeoutMs = 20_000,
): Promise<SseEvent[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  return events;
}

describe.each(BACKENDS)('live updates on %s', (backend) => {
  test('a change made by another Tasker instance (its worker) reaches the stream of this server', async () => {
    const a = await testTasker(backend);
    registerTemplates(a.tasker);
    // A second engine on the same schema: its own connections and its own LISTEN connection.
    const b: Tasker =
      backend === 'postgres'
        ? await createTasker({
            database: { url: PG_URL, schema: a.schema, maxConnections: 2 },
            execution: { pollIntervalMs: 200 },
          })
        : await createTasker(
            { database: { schema: a.schema }, execution: { pollIntervalMs: 200 } },
            { database: a.db },
          );
    closers.push(() => b.close());
    registerTemplates(b);

    const server = await startServer({ tasker: a.tasker, port: 0 });
    closers.push(() => server.close());

    const all = await fetch(`${server.url}/events`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toContain('text/event-stream');

    const { id } = await b.createTask({ namespace: 'shop', name: 'order', context: { orderId: 1 } });
    const one = await fetch(`${server.url}/tasks/${id}/events`);
    expect(one.status).toBe(200);
    const other = await b.createTask({ namespace: 'shop', name: 'broken' });
    await b.startWorker();

    const finished = (events: SseEvent[]) =>
      events.some((e) => e.event === 'task' && e.data.id === id && e.data.state === 'complete');
    const [allEvents, oneEvents] = await Promise.all([readEvents(all, finished), readEvents(one, finished)]);

    for (const events of [allEvents, oneEvents]) {
      expect(events).toContainEqual({
        event: 'task',
        data: { id, state: 'complete', namespace: 'shop', name: 'order', version: '1.0.0' },
      });
      const stepStates = events
        .filter((e) => e.event === 'step' && e.data.taskId === id)
        .map((e) => `${e.data.name}:${e.data.state}`);
      expect(stepStates).toEqual(
        expect.arrayContaining(['validate:in_progress', 'validate:complete', 'ship:complete']),
      );
    }
    // The one-task stream carries only that task.
    expect(oneEvents.every((e) => e.data.id === id || e.data.taskId === id)).toBe(true);
    expect(other.id).not.toBe(id);

    const missing = await fetch(`${server.url}/tasks/999999/events`);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
  });
});
