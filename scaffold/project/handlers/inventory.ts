/** Step handlers of inventory/stock_management. */
import type { StepContext } from 'tasker-ts';

interface StockLevel {
  readonly sku: string;
  readonly on_hand: number;
  readonly reorder_point: number;
  readonly reorder_quantity: number;
}

export function identifyLowStock({ parents }: StepContext) {
  const levels = (parents.monitor_stock_levels as { body: { products: StockLevel[] } }).body.products;
  const low = levels.filter((p) => p.on_hand < p.reorder_point);
  return { items: low.map((p) => ({ sku: p.sku, quantity: p.reorder_quantity })), checked: levels.length };
}

export function sendRestockReport({ parents }: StepContext) {
  const low = parents.identify_low_stock as { items: unknown[]; checked: number };
  const restock = parents.create_restock_orders as { body: { restock_orders: unknown[] } };
  return {
    report: `${low.items.length} of ${low.checked} products below their reorder point`,
    restockOrders: restock.body.restock_orders.length,
  };
}
