/**
 * A TCP proxy for tests: sits in front of a real peer, counts concurrent connections (what the
 * PACS side sees: associations) and can throttle the bytes it forwards (to make a transfer slow
 * enough to interrupt), or simulate an outage: cut a connection partway through the peer's
 * answers and refuse new ones until told the peer is back.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Highest number of connections open at the same time. */
  maxConcurrent: number;
  active: number;
  total: number;
  /** Bytes forwarded from clients to the target, over all connections. */
  bytesFromClients: number;
  /** Connections accepted and dropped at once while the proxy was down. */
  refused: number;
  /**
   * Outage: the next connection that has forwarded `bytesFromTarget` bytes from the peer is cut
   * there, and from then on new connections are dropped at once until `up()`.
   */
  cutAfter(bytesFromTarget: number): void;
  up(): void;
  /** Closes every open connection (as a peer closing idle associations); new ones are accepted. */
  dropActive(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(opts: {
  targetPort: number;
  targetHost?: string;
  bytesPerSecond?: number;
  /** Sees every chunk a client sends, with the connection's number (1, 2, ...): to record an association. */
  onClientChunk?: (connection: number, chunk: Buffer) => void;
}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const state = { maxConcurrent: 0, active: 0, total: 0, refused: 0, down: false, cutAt: 0, bytesFromClients: 0 };
  const server = net.createServer((client) => {
    if (state.down) {
      state.refused++;
      client.destroy();
      return;
    }
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
    const connection = state.total;
    client.on('data', (chunk: Buffer) => {
      state.bytesFromClients += chunk.length;
      opts.onClientChunk?.(connection, chunk);
    });
    let fromTarget = 0;
    upstream.on('data', (chunk: Buffer) => {
      fromTarget += chunk.length;
      if (state.cutAt && !state.down && fromTarget >= state.cutAt) {
        state.down = true;
        state.cutAt = 0;
        done();
      }
    });
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
    get bytesFromClients() {
      return state.bytesFromClients;
    },
    get refused() {
      return state.refused;
    },
    cutAfter(bytesFromTarget: number) {
      state.cutAt = bytesFromTarget;
    },
    up() {
      state.down = false;
      state.cutAt = 0;
    },
    dropActive() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
