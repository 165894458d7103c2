/**
 * Step handlers of ecommerce/order_processing. Every exported function of a module in handlers/ is a
 * handler that templates name (`handler: calculatePricing`).
 */
import { PermanentError, type StepContext } from 'tasker-ts';

interface CartItem {
  readonly product_id: number;
  readonly quantity: number;
  readonly price: number;
}

const TAX_RATE = 0.2;

/** Pure arithmetic on the parent results: safe to run again, so retries need no care. */
export function calculatePricing({ context, parents }: StepContext) {
  const cart = parents.validate_cart as { body: { items: CartItem[] } };
  const items = cart.body.items;
  if (items.length === 0) throw new PermanentError('the cart is empty', { code: 'EMPTY_CART' });
  const subtotal = items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  const discount = Math.round(subtotal * Number(context.discount_percent ?? 0)) / 100;
  const tax = Math.round((subtotal - discount) * TAX_RATE * 100) / 100;
  return { subtotal, discount, tax, total: Math.round((subtotal - discount + tax) * 100) / 100 };
}
