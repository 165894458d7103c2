/** Small workflows the telemetry tests run. */
import { defineTask, RetryableError, type StepContext } from '../../src/index.js';

/** a -> b, where b fails its first attempt (retried), c fails for good when the context says so. */
export const billing = defineTask({
  namespace: 'billing',
  name: 'charge',
  version: '2.1.0',
  steps: [
    {
      name: 'authorize',
      handler: async (ctx: StepContext) => {
        ctx.log.info(
          { card: { number: '4111', cvv: '123' }, password: 'hunter2', amount: 10 },
          'authorizing',
        );
        (ctx.log.info as unknown as (msg: string) => void)('plain message');
        return { authorized: true, apiToken: 'sekret' };
      },
    },
    {
      name: 'capture',
      dependsOn: ['authorize'],
      handler: async (ctx: StepContext) => {
        if (ctx.attempt === 1) throw new RetryableError('gateway busy');
        ctx.log.warn({ attempt: ctx.attempt }, 'captured on retry');
        return { captured: true };
      },
    },
  ],
});
