/**
 * Step handlers of templates/ecommerce/order_processing.yaml, bound to its handler_class paths the two
 * ways Tasker offers: an export object nested like the Ruby modules (Ecommerce::StepHandlers::...), and
 * functions or classes exported under the path's last segment. A class needs a process(context) method,
 * as the original's step handlers have; one instance serves every run.
 */
import { PermanentError, type StepContext } from 'tasker-ts';

interface CartItem {
  sku: string;
  quantity: number;
  price: number;
}

export const Ecommerce = {
  StepHandlers: {
    // Ecommerce::StepHandlers::ValidateCartHandler. `parents` holds the results of the steps above:
    // the built-in http handler's { status, body } for fetch_cart.
    ValidateCartHandler({ parents }: StepContext) {
      const cart = (parents.fetch_cart as { body: { id: number; items: CartItem[] } }).body;
      if (cart.items.length === 0) {
        throw new PermanentError(`cart ${cart.id} is empty`, { code: 'EMPTY_CART' });
      }
      const total = cart.items.reduce((sum, item) => sum + item.quantity * item.price, 0);
      return { cart_id: cart.id, items: cart.items, total };
    },
  },
};

// Ecommerce::StepHandlers::CheckInventoryHandler, found by its last segment.
export class CheckInventoryHandler {
  process({ parents }: StepContext) {
    const { items } = parents.validate_cart as { items: CartItem[] };
    return { reserved: items.map((item) => ({ sku: item.sku, quantity: item.quantity })) };
  }
}

export class ProcessPaymentHandler {
  // handler_config arrives as `config`; custom_events declared in the template can be published.
  process({ parents, config, context, task, publish }: StepContext) {
    const { total } = parents.validate_cart as { total: number };
    publish('payment.charged', { amount: total, customer: context.customer_email });
    return { payment_id: `pay_${task.id}`, amount: total, gateway: config.gateway };
  }
}

export function CreateOrderHandler({ parents, task }: StepContext) {
  const payment = parents.process_payment as { payment_id: string; amount: number };
  return { order_id: 1000 + task.id, payment_id: payment.payment_id, total: payment.amount };
}

export function SendConfirmationHandler({ parents, context }: StepContext) {
  const { order_id } = parents.create_order as { order_id: number };
  return { sent_to: context.customer_email, order_id };
}
