// Categories and fingerprints, pure: what varies between occurrences is taken out of the fingerprint,
// what tells problems apart stays in it.
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/diagnostics/classify.js';
import { fingerprintError, messagePattern, topFrame } from '../../src/diagnostics/fingerprint.js';
import { retryAdvice } from '../../src/diagnostics/hints.js';

describe('classifyError', () => {
  it.each([
    [{ class: 'StepTimeoutError', message: 'step timed out after 50 ms' }, 'timeout'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_TIMEOUT' }, 'timeout'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_CONNECTION_REFUSED' }, 'connection_refused'],
    [{ class: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' }, 'connection_refused'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_CONNECTION_RESET' }, 'connection_reset'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_DNS' }, 'dns'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_TLS' }, 'tls'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_429' }, 'rate_limited'],
    [{ class: 'RetryableError', message: 'x', context: { status: 429 } }, 'rate_limited'],
    [{ class: 'PermanentError', message: 'x', code: 'HTTP_404' }, 'http_4xx'],
    [{ class: 'RetryableError', message: 'x', code: 'HTTP_503' }, 'http_5xx'],
    [{ class: 'ZodError', message: 'x' }, 'validation'],
    [{ class: 'PermanentError', message: 'x', code: 'INVALID_EMAIL' }, 'validation'],
    [{ class: 'TypeError', message: "Cannot read properties of undefined (reading 'id')" }, 'handler_bug'],
    [{ class: 'LeaseExpiredError', message: 'worker w stopped' }, 'lease_expired'],
    [{ class: 'PermanentError', message: 'duplicate', code: 'DUPLICATE_USER' }, 'permanent'],
    [{ class: 'Error', message: 'something' }, 'unknown'],
    [{ class: 'RetryableError', message: 'x', code: 'CUSTOM' }, 'unknown'],
  ])('%j is %s', (error, category) => {
    expect(classifyError(error)).toBe(category);
  });
});

describe('fingerprints', () => {
  it('take out ids, numbers, times, addresses', () => {
    expect(messagePattern('GET http://127.0.0.1:40123/carts/999 answered 404')).toBe(
      'GET http://<ip>:<n>/carts/<n> answered <n>',
    );
    expect(
      messagePattern('order 3f2a9c1e-1111-4222-8333-444455556666 of ada@example.com at 2026-12-04T02:00:00Z'),
    ).toBe('order <uuid> of <email> at <time>');
  });

  it('name the first application frame, without line numbers', () => {
    const stack = [
      "TypeError: Cannot read properties of undefined (reading 'id')",
      '    at validateCart (/app/handlers/cart.ts:12:5)',
      '    at async runStep (/app/node_modules/tasker-ts/dist/worker/run-step.js:80:20)',
    ].join('\n');
    expect(topFrame(stack, '/app')).toBe('validateCart (handlers/cart.ts)');
    expect(topFrame('Error: x\n    at node:internal/process/task_queues:95:5', '/app')).toBeUndefined();
  });

  it('are equal for occurrences of one problem and differ between problems', () => {
    const at = (line: number) => `TypeError: boom\n    at price (/app/handlers/cart.ts:${line}:3)`;
    const a = fingerprintError({
      class: 'PermanentError',
      code: 'HTTP_404',
      message: 'GET http://h:1/carts/1 answered 404',
    });
    const b = fingerprintError({
      class: 'PermanentError',
      code: 'HTTP_404',
      message: 'GET http://h:2/carts/77 answered 404',
    });
    const c = fingerprintError({
      class: 'PermanentError',
      code: 'HTTP_410',
      message: 'GET http://h:2/carts/77 answered 410',
    });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
    const x = fingerprintError({ class: 'TypeError', message: 'boom', stack: at(10) }, '/app');
    const y = fingerprintError({ class: 'TypeError', message: 'boom', stack: at(42) }, '/app');
    const z = fingerprintError(
      { class: 'TypeError', message: 'boom', stack: at(10).replace('price', 'ship') },
      '/app',
    );
    expect(x.fingerprint).toBe(y.fingerprint);
    expect(z.fingerprint).not.toBe(x.fingerprint);
  });
});

describe('retry advice (descriptive)', () => {
  it('speaks only when every attempt from some number on practically never succeeded, with enough tries', () => {
    const stats = [
      { attempt: 2, reached: 30, succeeded: 5 },
      { attempt: 3, reached: 25, succeeded: 0 },
      { attempt: 4, reached: 25, succeeded: 0 },
    ];
    expect(retryAdvice(stats, { days: 7, retryLimit: 4 })).toBe(
      ' Over the last 7 days, attempts from the 3rd on succeeded in 0 of 50 tries after this error: a retry limit of 2 (it is 4 now) would save 50 attempts, or a longer backoff may give the other side time to recover.',
    );
    // Later attempts that do succeed, or too few tries: nothing to say.
    expect(
      retryAdvice(
        [
          { attempt: 2, reached: 30, succeeded: 3 },
          { attempt: 3, reached: 27, succeeded: 2 },
        ],
        { days: 7 },
      ),
    ).toBe('');
    expect(retryAdvice([{ attempt: 2, reached: 10, succeeded: 0 }], { days: 7 })).toBe('');
    expect(retryAdvice([], { days: 7 })).toBe('');
  });
});
