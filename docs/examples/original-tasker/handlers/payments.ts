/** Step handlers for templates/payments.yaml (payments/order_processing). */
import type { StepContext } from 'tasker-ts';

export const Payments = {
  StepHandlers: {
    AuthorizeHandler({ context }: StepContext) {
      return { authorization: `auth_${context.order_id}` };
    },
    CaptureHandler({ parents }: StepContext) {
      const { authorization } = parents.authorize as { authorization: string };
      return { captured: authorization };
    },
  },
};
