/**
 * A TCP proxy for tests: sits in front of a real peer, counts concurrent connections (what the
 * PACS side sees: associations) and can throttle the bytes it forwards (to make a transfer slow
 * enough to interrupt).
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Highest number of connections open at the same time. */
  maxConcurrent: number;
  active: number;
  total: number;
  close(): Promise<void>;
}

export async function startTcpProxy(opts: { targetPort: number; targetHost?: string; bytesPerSecond?: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const state = { maxConcurrent: 0, active: 0, total: 0 };
  const server = net.createServer((client) => {
    state.active++;
    state.total++;
    state.maxConcurrent = Math.max(state.maxConcurrent, state.active);
    const upstream = net.connect(opts.targetPort, opts.targetHost ?? '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      state.active--;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    if (!opts.bytesPerSecond) {
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    // Throttled direction: client -> upstream (e.g. a sender's C-STORE data).
    const rate = opts.bytesPerSecond;
    client.on('data', (chunk: Buffer) => {
      client.pause();
      upstream.write(chunk);
      setTimeout(() => client.resume(), Math.ceil((chunk.length / rate) * 1000));
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    get active() {
      return state.active;
    },
    get total() {
      return state.total;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
