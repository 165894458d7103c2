/** Inventory stock management, written in code: find what runs low and order more of it. */
import { defineTask } from 'tasker-ts';
import { z } from 'zod';
import { requestJson } from './_http.ts';

interface StockLevel {
  readonly sku: string;
  readonly name: string;
  readonly on_hand: number;
  readonly reorder_point: number;
  readonly reorder_quantity: number;
}

export const stockManagement = defineTask({
  namespace: 'inventory',
  name: 'stock_management',
  version: '1.0.0',
  description: 'Check stock levels, pick the products below their reorder point and restock them.',
  dependentSystem: 'warehouse_api',
  contextSchema: z.object({
    warehouse: z.string().default('main'),
    api_url: z.string().default('http://127.0.0.1:4010'),
  }),
})
  .step('monitor_stock_levels', ({ context, signal }) =>
    requestJson<{ warehouse: string; products: StockLevel[] }>(
      `${context.api_url}/inventory?warehouse=${encodeURIComponent(context.warehouse)}`,
      { signal },
    ),
  )
  .step('identify_low_stock', { dependsOn: ['monitor_stock_levels'] }, ({ parents }) => {
    const levels = parents.monitor_stock_levels.products;
    const low = levels.filter((p) => p.on_hand < p.reorder_point);
    return { items: low.map((p) => ({ sku: p.sku, quantity: p.reorder_quantity })), checked: levels.length };
  })
  .step('create_restock_orders', { dependsOn: ['identify_low_stock'] }, ({ context, parents, signal }) =>
    requestJson<{ restock_orders: Array<{ id: number; sku: string; quantity: number }> }>(
      `${context.api_url}/restock`,
      {
        method: 'POST',
        body: { warehouse: context.warehouse, items: parents.identify_low_stock.items },
        signal,
      },
    ),
  )
  .step(
    'send_restock_report',
    {
      dependsOn: ['identify_low_stock', 'create_restock_orders'],
      customEvents: [
        { name: 'inventory.restock_reported', description: 'Published when a restock report is ready.' },
      ],
    },
    ({ parents, publish }) => {
      const low = parents.identify_low_stock;
      const report = {
        report: `${low.items.length} of ${low.checked} products below their reorder point`,
        restockOrders: parents.create_restock_orders.restock_orders.length,
      };
      publish('inventory.restock_reported', report);
      return report;
    },
  )
  .build();
