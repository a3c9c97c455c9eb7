/**
 * Whether a network peer is a given device: its address must be one the device's host resolves
 * to, or fall inside one of the addresses/CIDR ranges the admin listed for it (Device.addresses).
 * An AE title alone proves nothing: anyone on the network can send any calling AE title.
 *
 * Host names are resolved with the system resolver (getaddrinfo: /etc/hosts, then DNS) and the
 * answer is kept for HOST_CACHE_MS, so a busy PACS does not cost one lookup per association and a
 * renumbered one is followed within a minute. A failed lookup is kept for a shorter time and
 * matches nothing: the association is refused rather than trusted.
 */
import dns from 'node:dns';
import net from 'node:net';
import { logger } from '../logger';

const log = logger('devices');

const HOST_CACHE_MS = 60_000;
const FAILED_LOOKUP_CACHE_MS = 10_000;
const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * The canonical form of an address: IPv4-mapped IPv6 (::ffff:10.1.2.3, as a dual-stack socket
 * reports IPv4 peers) becomes plain IPv4, zone ids (fe80::1%eth0) and brackets are dropped.
 * Returns null for anything that is not an IP address.
 */
export function normalizeAddress(raw: string): string | null {
  let a = raw.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '').toLowerCase();
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped && net.isIPv4(mapped[1])) a = mapped[1];
  if (net.isIPv6(a)) {
    // ::ffff:a0b:c0d, the hex spelling of a mapped IPv4 address.
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
    if (hex) {
      const hi = parseInt(hex[1], 16);
      const lo = parseInt(hex[2], 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return a;
  }
  return net.isIPv4(a) ? a : null;
}

/** Whether `peer` is one of `entries` (addresses or CIDR ranges, IPv4 or IPv6). Bad entries match nothing. */
export function addressInList(peer: string, entries: readonly string[]): boolean {
  const p = normalizeAddress(peer);
  if (!p) return false;
  const family = net.isIPv4(p) ? 'ipv4' : 'ipv6';
  const list = new net.BlockList();
  for (const entry of entries) {
    const [rawAddr, rawBits, ...rest] = entry.trim().split('/');
    if (rest.length) continue;
    const addr = normalizeAddress(rawAddr ?? '');
    if (!addr) continue;
    const entryFamily = net.isIPv4(addr) ? 'ipv4' : 'ipv6';
    if (rawBits === undefined) {
      if (entryFamily === family) list.addAddress(addr, family);
      continue;
    }
    if (!/^\d{1,3}$/.test(rawBits)) continue;
    let bits = Number(rawBits);
    // A range written as mapped IPv6 (::ffff:10.0.0.0/104) covers IPv4 peers.
    if (entryFamily === 'ipv4' && !net.isIPv4(rawAddr.trim())) bits -= 96;
    if (bits < 0 || bits > (entryFamily === 'ipv4' ? 32 : 128)) continue;
    if (entryFamily === family) list.addSubnet(addr, bits, family);
  }
  return list.check(p, family);
}

const hostCache = new Map<string, { until: number; addresses: string[] }>();

/** The addresses `host` stands for: itself if it is an IP address, else what the resolver answers (cached). */
export async function resolveHost(host: string): Promise<string[]> {
  const literal = normalizeAddress(host);
  if (literal) return [literal];
  const key = host.trim().toLowerCase();
  const now = Date.now();
  const hit = hostCache.get(key);
  if (hit && hit.until > now) return hit.addresses;
  let addresses: string[] = [];
  let ok = true;
  try {
    const answers = await Promise.race([
      dns.promises.lookup(key, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), LOOKUP_TIMEOUT_MS).unref()),
    ]);
    addresses = answers.map((a) => normalizeAddress(a.address)).filter((a): a is string => a !== null);
  } catch (e) {
    ok = false;
    log.warn('device host does not resolve', { host: key, code: (e as NodeJS.ErrnoException).code ?? 'error' });
  }
  hostCache.set(key, { until: now + (ok ? HOST_CACHE_MS : FAILED_LOOKUP_CACHE_MS), addresses });
  return addresses;
}

/** Whether a connection from `peer` may be the device: its host's addresses or its listed ones. */
export async function peerIsDevice(peer: string, device: { host: string; addresses: readonly string[] }): Promise<boolean> {
  if (addressInList(peer, device.addresses)) return true;
  return addressInList(peer, await resolveHost(device.host));
}
