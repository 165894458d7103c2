/**
 * The dashboard's event-stream client (web/src/api/events.ts) with a stand-in for the browser's
 * EventSource (Node has none; the e2e tests drive the real one in chromium): every time the stream opens
 * or reopens, the page is told to reload what it shows, since nothing from before that moment is in the
 * stream.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LiveStatus, subscribe } from '../../web/src/api/events.js';
import type { LiveEvent } from '../../web/src/api/types.js';

class StandInEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static last: StandInEventSource | null = null;
  readyState = StandInEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readonly listeners = new Map<string, (message: { data: string }) => void>();
  constructor(readonly url: string) {
    StandInEventSource.last = this;
  }
  addEventListener(name: string, listener: (message: { data: string }) => void): void {
    this.listeners.set(name, listener);
  }
  close(): void {
    this.readyState = StandInEventSource.CLOSED;
  }
  open(): void {
    this.readyState = StandInEventSource.OPEN;
    this.onopen?.();
  }
  drop(): void {
    this.readyState = StandInEventSource.CONNECTING;
    this.onerror?.();
  }
  send(name: string, data: unknown): void {
    this.listeners.get(name)?.({ data: JSON.stringify(data) });
  }
}

describe('the live event stream', () => {
  const original = (globalThis as { EventSource?: unknown }).EventSource;
  beforeEach(() => {
    (globalThis as { EventSource?: unknown }).EventSource = StandInEventSource;
  });
  afterEach(() => {
    (globalThis as { EventSource?: unknown }).EventSource = original;
  });

  it('asks the page to reload when the stream opens and each time it reopens', () => {
    const events: LiveEvent[] = [];
    const statuses: LiveStatus[] = [];
    const subscription = subscribe(
      '/tasker/events',
      (e) => events.push(e),
      (s) => statuses.push(s),
    );
    const source = StandInEventSource.last!;
    expect(source.url).toBe('/tasker/events');
    expect(statuses).toEqual(['connecting']);
    expect(events).toEqual([]);

    source.open();
    expect(statuses).toEqual(['connecting', 'live']);
    expect(events).toEqual([{ kind: 'resync' }]);

    source.send('task', { id: 7, state: 'complete', namespace: 'shop', name: 'order', version: '1.0.0' });
    expect(events[1]).toEqual({
      kind: 'task',
      id: 7,
      state: 'complete',
      namespace: 'shop',
      name: 'order',
      version: '1.0.0',
    });

    // A dropped connection: EventSource retries by itself; what changed meanwhile is not in the stream.
    source.drop();
    expect(statuses.at(-1)).toBe('connecting');
    source.open();
    expect(statuses.at(-1)).toBe('live');
    expect(events.filter((e) => e.kind === 'resync')).toHaveLength(2);

    subscription.close();
    expect(source.readyState).toBe(StandInEventSource.CLOSED);
  });
});
