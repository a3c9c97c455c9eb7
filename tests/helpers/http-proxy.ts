/**
 * An HTTP proxy for tests, in front of a real DICOMweb server (Orthanc): records the paths asked,
 * and can misbehave the way gateways do — cut the next answer whose path matches after part of
 * its body, slow every answer down, or answer a request itself (`intercept`: e.g. check an
 * OAuth2 access token and answer 401, or serve a login page).
 */
import http from 'node:http';
import { freePort } from './orthanc';

export interface HttpProxy {
  url: string;
  /** Paths (with query) in the order asked. */
  paths: string[];
  /** The next answer whose path matches is cut after `fraction` of its body (connection closed). */
  truncateNext(match: RegExp, fraction?: number): void;
  /** Delay before forwarding each chunk of an answer (ms). */
  slow(ms: number): void;
  close(): Promise<void>;
}

export type Intercept = (req: http.IncomingMessage) => Promise<{ status: number; headers?: Record<string, string>; body?: string } | null> | { status: number; headers?: Record<string, string>; body?: string } | null;

export async function startHttpProxy(opts: { targetPort: number; intercept?: Intercept }): Promise<HttpProxy> {
  const port = await freePort();
  let truncate: { match: RegExp; fraction: number } | null = null;
  let delay = 0;
  const paths: string[] = [];
  const srv = http.createServer(async (req, res) => {
    paths.push(req.url ?? '');
    const own = opts.intercept ? await opts.intercept(req) : null;
    if (own) {
      res.writeHead(own.status, own.headers ?? {});
      res.end(own.body ?? '');
      return;
    }
    const cutThis = truncate && truncate.match.test(req.url ?? '') ? truncate : null;
    if (cutThis) truncate = null;
    const headers = { ...req.headers, host: `127.0.0.1:${opts.targetPort}` };
    const up = http.request({ host: '127.0.0.1', port: opts.targetPort, path: req.url, method: req.method, headers }, async (u) => {
      const h = { ...u.headers };
      delete h['content-length'];
      res.writeHead(u.statusCode ?? 502, h);
      // Orthanc closes the connection to end a multipart answer: the full size is known only
      // at the end, so a cut answer is buffered first, then sent in part.
      if (cutThis) {
        const chunks: Buffer[] = [];
        for await (const c of u) chunks.push(c as Buffer);
        const all = Buffer.concat(chunks);
        res.write(all.subarray(0, Math.floor(all.length * cutThis.fraction)));
        res.socket?.end();
        return;
      }
      for await (const c of u) {
        if (delay) await new Promise((r) => setTimeout(r, delay));
        if (!res.write(c)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    truncateNext(match, fraction = 0.6) {
      truncate = { match, fraction };
    },
    slow(ms) {
      delay = ms;
    },
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}
