/**
 * Preloaded into `next start` (`node -r ./scripts/peer-address.cjs node_modules/next/dist/bin/next start`):
 * every HTTP request gets the header x-tributary-peer-address set to the connection's remote
 * address, replacing anything the client sent, and the process is marked so the app believes
 * that header (lib/auth/client-address.ts). Next.js gives route handlers no socket, and fills
 * X-Forwarded-For with the socket address only when the client sent none.
 *
 * It also answers GET/HEAD for the OHIF viewer's static files (public, content-hashed scripts,
 * styles and WASM under /viewer/) itself, sending the gzip copies made at fetch time: Next.js
 * would gzip the 17 MB app bundle on every first visit (lib/viewers/ohif-static.cjs says why).
 */
'use strict';
const http = require('node:http');
const path = require('node:path');
const { serveOhifStatic } = require(path.join(__dirname, '..', 'lib', 'viewers', 'ohif-static.cjs'));

const HEADER = 'x-tributary-peer-address';
const MARK = Symbol.for('tributary.peer-address-header');

function wrap(listener) {
  if (typeof listener !== 'function') return listener;
  return function peerAddressListener(req, res) {
    req.headers[HEADER] = (req.socket && req.socket.remoteAddress) || '';
    if (serveOhifStatic(req, res)) return undefined;
    return listener.call(this, req, res);
  };
}

const createServer = http.createServer;
http.createServer = function patchedCreateServer(...args) {
  const i = args.findIndex((a) => typeof a === 'function');
  if (i >= 0) args[i] = wrap(args[i]);
  return createServer.apply(this, args);
};
process[MARK] = true;
module.exports = { HEADER, MARK, wrap };
