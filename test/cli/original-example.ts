/** The example project of docs/migrating-from-rails.md (docs/examples/original-tasker) for tests. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, relative } from 'node:path';
import { REPO } from './cli-helpers.js';

export const EXAMPLE = join(REPO, 'docs/examples/original-tasker');

/** The example project's files, with the shop API's address replaced by the stand-in's. */
export function exampleFiles(apiOrigin: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else
        files[relative(EXAMPLE, path)] = readFileSync(path, 'utf8').replaceAll(
          'http://127.0.0.1:4010',
          apiOrigin,
        );
    }
  };
  walk(EXAMPLE);
  return files;
}

/** A stand-in for the shop APIs the example templates call. */
export async function startShopApi(): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const cart = /^\/carts\/(\d+)$/.exec(url.pathname);
    if (cart) {
      const id = Number(cart[1]);
      return send(200, {
        id,
        items:
          id === 0
            ? []
            : [
                { sku: 'TEE-1', quantity: 2, price: 15 },
                { sku: 'MUG-2', quantity: 1, price: 9 },
              ],
      });
    }
    if (url.pathname === '/cart') {
      return send(200, { id: Number(url.searchParams.get('cart_id')), products: [{ id: 1, quantity: 2 }] });
    }
    if (url.pathname === '/products') return send(200, [{ id: 1, title: 'Tee', price: 15, stock: 10 }]);
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, server };
}
