// A local stand-in for the shop, warehouse, accounts and email APIs the example workflows call, so they
// run without the internet. `node scripts/stand-in-api.mjs` serves it on PORT (default 4010);
// scripts/run-examples.mjs and the tests start it themselves on a free port.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const carts = {
  1: { id: 1, customer_email: 'ada@example.com', items: [{ product_id: 10, quantity: 2, price: 12.5 }] },
  2: {
    id: 2,
    customer_email: 'alan@example.com',
    items: [
      { product_id: 11, quantity: 1, price: 99 },
      { product_id: 12, quantity: 3, price: 4 },
    ],
  },
};
const stock = [
  { sku: 'WIDGET-1', name: 'Widget', on_hand: 4, reorder_point: 10, reorder_quantity: 50 },
  { sku: 'GADGET-2', name: 'Gadget', on_hand: 40, reorder_point: 10, reorder_quantity: 20 },
  { sku: 'DOOHICKEY-3', name: 'Doohickey', on_hand: 0, reorder_point: 5, reorder_quantity: 25 },
];

function readJson(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

/** Starts the stand-in API; resolves with its base URL and a close function. */
export function startStandInApi({ port = 0, host = '127.0.0.1' } = {}) {
  const users = new Map();
  const orders = new Map();
  let nextId = 1000;
  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const cart = /^\/carts\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && cart) {
        const found = carts[cart[1]];
        return found ? send(200, found) : send(404, { error: `no cart ${cart[1]}` });
      }
      if (req.method === 'POST' && url.pathname === '/inventory/check') {
        const { items = [] } = await readJson(req);
        return send(200, {
          available: true,
          reserved: items.map((i) => ({ product_id: i.product_id, quantity: i.quantity })),
        });
      }
      if (req.method === 'POST' && url.pathname === '/orders') {
        const body = await readJson(req);
        // Idempotency: the same key returns the same order (a retried step does not order twice).
        const key = req.headers['idempotency-key'] ?? String(nextId);
        if (!orders.has(key)) orders.set(key, { order_id: nextId++, status: 'created', total: body.total });
        return send(201, orders.get(key));
      }
      if (req.method === 'GET' && url.pathname === '/inventory') {
        return send(200, { warehouse: url.searchParams.get('warehouse') ?? 'main', products: stock });
      }
      if (req.method === 'POST' && url.pathname === '/restock') {
        const { items = [] } = await readJson(req);
        return send(201, { restock_orders: items.map((i) => ({ id: nextId++, ...i })) });
      }
      if (req.method === 'GET' && url.pathname === '/users') {
        return send(200, { exists: users.has(url.searchParams.get('email')) });
      }
      if (req.method === 'POST' && url.pathname === '/users') {
        const body = await readJson(req);
        const key = req.headers['idempotency-key'] ?? body.email;
        if (!users.has(body.email)) users.set(body.email, { user_id: nextId++, key });
        return send(201, { user_id: users.get(body.email).user_id });
      }
      if (req.method === 'POST' && url.pathname === '/emails') {
        await readJson(req);
        return send(202, { queued: true });
      }
      send(404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      send(400, { error: String(error) });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        url: `http://${host}:${address.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const api = await startStandInApi({ port: Number(process.env.PORT ?? 4010) });
  console.log(`stand-in API listening on ${api.url} (Ctrl-C to stop)`);
}
