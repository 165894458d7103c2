// The in-process event bus: exact and wildcard subscriptions, delivery after the emitting turn, isolation
// of failing subscribers, and subscriptions changed after a name was already emitted (the bus keeps each
// name's listeners between emits).
import { describe, expect, test } from 'vitest';
import { createEventBus } from '../../src/events/event-bus.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('event bus', () => {
  test('exact names, `ns.*` and `*` all receive; delivery waits for the emitting turn', async () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.on('step.completed', (_e, name) => seen.push(`exact ${name}`));
    bus.on('step.*', (_e, name) => seen.push(`step.* ${name}`));
    bus.on('*', (_e, name) => seen.push(`* ${name}`));
    bus.emit('step.completed', {});
    bus.emit('task.created', {});
    expect(seen).toEqual([]);
    await turn();
    expect(seen).toEqual([
      'exact step.completed',
      'step.* step.completed',
      '* step.completed',
      '* task.created',
    ]);
  });

  test('events are frozen copies with an ISO timestamp', async () => {
    const bus = createEventBus();
    const events: Array<Record<string, unknown>> = [];
    bus.on('task.created', (e: Record<string, unknown>) => events.push(e));
    const payload = { taskId: 1 };
    bus.emit('task.created', payload);
    await turn();
    expect(events[0]).toMatchObject({ taskId: 1 });
    expect(events[0]).not.toBe(payload);
    expect(Object.isFrozen(events[0])).toBe(true);
    expect(new Date(events[0]!.timestamp as string).toISOString()).toBe(events[0]!.timestamp);
    expect(payload).toEqual({ taskId: 1 }); // the caller's object is left alone
    expect(Object.isFrozen(payload)).toBe(false);
  });

  test('emitFresh delivers the payload itself, given its timestamp and frozen; nothing without listeners', async () => {
    const bus = createEventBus();
    const events: Array<Record<string, unknown>> = [];
    bus.on('task.created', (e: Record<string, unknown>) => events.push(e));
    const payload: Record<string, unknown> = { taskId: 2 };
    bus.emitFresh('task.created', payload);
    const unheard: Record<string, unknown> = { taskId: 3 };
    bus.emitFresh('task.failed', unheard);
    await turn();
    expect(events).toHaveLength(1);
    expect(events[0]).toBe(payload);
    expect(Object.isFrozen(payload)).toBe(true);
    expect(new Date(payload.timestamp as string).toISOString()).toBe(payload.timestamp);
    expect(unheard).toEqual({ taskId: 3 });
  });

  test('subscribing after a name was emitted with no listener, and unsubscribing, take effect at once', async () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.emit('step.failed', {});
    expect(bus.has('step.failed')).toBe(false);
    const off = bus.on('step.*', (_e, name) => seen.push(name));
    expect(bus.has('step.failed')).toBe(true);
    bus.emit('step.failed', {});
    await turn();
    expect(seen).toEqual(['step.failed']);

    off();
    expect(bus.has('step.failed')).toBe(false);
    bus.emit('step.failed', {});
    await turn();
    expect(seen).toEqual(['step.failed']);

    const exact: string[] = [];
    bus.on('step.failed', (_e, name) => exact.push(name));
    bus.emit('step.failed', {});
    await turn();
    expect(exact).toEqual(['step.failed']);
  });

  test('an event already emitted goes to the listeners there were when it was emitted', async () => {
    const bus = createEventBus();
    const seen: string[] = [];
    const off = bus.on('task.created', () => seen.push('first'));
    bus.emit('task.created', {});
    off();
    bus.on('task.created', () => seen.push('second'));
    await turn();
    expect(seen).toEqual(['first']);
  });

  test('a subscriber that throws or rejects is reported; the others still receive', async () => {
    const errors: Array<[string, string]> = [];
    const bus = createEventBus({ onSubscriberError: (e, name) => errors.push([name, (e as Error).message]) });
    const seen: number[] = [];
    bus.on('task.created', () => {
      throw new Error('sync');
    });
    bus.on('task.created', () => Promise.reject(new Error('async')));
    bus.on('task.created', () => seen.push(1));
    bus.emit('task.created', {});
    await turn();
    await turn();
    expect(seen).toEqual([1]);
    expect(errors).toEqual([
      ['task.created', 'sync'],
      ['task.created', 'async'],
    ]);
  });

  test('past 1,000 made-up names (the per-name memory starts afresh) events still reach their listeners', async () => {
    const bus = createEventBus();
    let n = 0;
    bus.on('custom.*', () => n++);
    for (let i = 0; i < 2500; i++) bus.emit(`custom.e${i}`, {});
    await turn();
    expect(n).toBe(2500);
  });
});
