/**
 * Step handlers for the original Tasker's README example (templates/api_task/integration_yaml_example.yaml),
 * nested like its Ruby modules: ApiTask::StepHandler::CartFetchStepHandler and so on. The two API steps
 * reuse the built-in http handler; the template's URLs point at the original's example host, so these
 * ports read the base URL from ECOMMERCE_API_URL (the template itself is left as it is).
 */
import { createHttpHandler, PermanentError, type StepContext } from 'tasker-ts';

const http = createHttpHandler();
const apiBase = () => process.env.ECOMMERCE_API_URL ?? 'https://api.ecommerce.com';

/** Calls the template's handler_config (type: api) with its host replaced by ECOMMERCE_API_URL. */
async function callApi(ctx: StepContext): Promise<unknown> {
  const url = new URL(String(ctx.config.url));
  const config = { ...ctx.config, url: `${apiBase()}${url.pathname}` };
  const { body } = (await http({ ...ctx, config } as never)) as { body: unknown };
  return body;
}

interface Product {
  id: number;
  title: string;
  price: number;
  stock: number;
}

export const ApiTask = {
  StepHandler: {
    CartFetchStepHandler: class {
      process(ctx: StepContext) {
        return callApi(ctx);
      }
    },
    ProductsFetchStepHandler: class {
      process(ctx: StepContext) {
        return callApi(ctx);
      }
    },
    ProductsValidateStepHandler: class {
      process({ parents }: StepContext) {
        const cart = parents.fetch_cart as { id: number; products: Array<{ id: number; quantity: number }> };
        const products = parents.fetch_products as Product[];
        const valid = cart.products.map((line) => {
          const product = products.find((p) => p.id === line.id);
          if (!product || product.stock < line.quantity) {
            throw new PermanentError(`product ${line.id} is not available`, { code: 'UNAVAILABLE' });
          }
          return { ...product, quantity: line.quantity };
        });
        return { cart_id: cart.id, valid_products: valid };
      }
    },
    CreateOrderStepHandler: class {
      process({ parents, task }: StepContext) {
        const { cart_id, valid_products } = parents.validate_products as {
          cart_id: number;
          valid_products: Array<Product & { quantity: number }>;
        };
        const total = valid_products.reduce((sum, p) => sum + p.price * p.quantity, 0);
        return { order_id: task.id, cart_id, total, status: 'pending' };
      }
    },
    PublishEventStepHandler: class {
      process({ parents }: StepContext) {
        const { order_id } = parents.create_order as { order_id: number };
        return { published: true, event: 'order_created', order_id };
      }
    },
  },
};
