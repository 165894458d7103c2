/**
 * A TCP stand-in for PostgreSQL that a test switches on and off, so a database can be "down" or "come
 * up later" without touching the shared server: while down, nothing listens on its port (connections are
 * refused) and every forwarded connection is cut; while up, it forwards to the real server. In
 * `blackhole` mode it accepts connections and never answers (a host that drops packets).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DatabaseProxy {
  /** The proxy's port (fixed for its life). */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /** Starts forwarding (listening again on the same port). */
  up(): Promise<void>;
  /** Stops listening and cuts every open connection. */
  down(): Promise<void>;
  /** Accepts connections and never answers. */
  blackhole(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A proxy to `target` (a postgres:// URL), down until `up()`. */
export async function startDatabaseProxy(target: string): Promise<DatabaseProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const listen = async (onConnection: (socket: Socket) => void) => {
    await stop();
    const next = createServer(onConnection);
    // The port was free when chosen; rebinding it can race with the kernel's handing it out elsewhere.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          next.once('error', reject);
          next.listen(port, '127.0.0.1', () => {
            next.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    server = next;
  };

  const stop = async () => {
    const current = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise((resolve) => current.close(resolve));
  };

  return {
    port,
    urlFor(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    up: () =>
      listen((client) => {
        track(client);
        const upstream = connect(Number(targetPort || 5432), hostname);
        track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      }),
    down: stop,
    blackhole: () => listen((client) => track(client)),
    close: stop,
  };
}
