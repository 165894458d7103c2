import { describe, expect, test } from 'vitest';
import { createStepAbort } from '../../src/worker/step-abort.js';

describe('an attempt abort switch', () => {
  test('tells its listeners once, with the first reason; later aborts change nothing', () => {
    const abort = createStepAbort();
    const heard: unknown[] = [];
    abort.onAbort((reason) => heard.push(reason));
    expect(abort.aborted).toBe(false);
    expect(abort.reason).toBeUndefined();
    abort.abort('timeout');
    abort.abort('cancelled');
    expect(heard).toEqual(['timeout']);
    expect([abort.aborted, abort.reason]).toEqual([true, 'timeout']);
    // A listener added after the abort hears it at once.
    abort.onAbort((reason) => heard.push(`late ${reason}`));
    expect(heard).toEqual(['timeout', 'late timeout']);
  });

  test('its signal follows it whether it is read before or after the abort', () => {
    const early = createStepAbort();
    const signal = early.signal;
    expect(early.signal).toBe(signal);
    const events: string[] = [];
    signal.addEventListener('abort', () => events.push(String(signal.reason)));
    expect(signal.aborted).toBe(false);
    early.abort('lease lost');
    expect(events).toEqual(['lease lost']);

    const late = createStepAbort();
    late.abort('stopping');
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe('stopping');
  });
});
