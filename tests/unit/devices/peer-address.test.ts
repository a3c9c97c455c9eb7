/**
 * Binding a device to its address: the admin's address list is validated (IPv4/IPv6 and CIDR,
 * one schema for form and API) and a peer matches a device only through its host's addresses or
 * that list, IPv4-mapped IPv6 peers included.
 */
import { describe, expect, it } from 'vitest';
import { deviceInputSchema, devicePatchSchema, splitAddresses } from '@/lib/devices/schema';
import { addressInList, normalizeAddress, peerIsDevice, resolveHost } from '@/lib/devices/peer-address';

const base = { name: 'PACS', aeTitle: 'PACS_AE', host: 'pacs.hospital.local', port: 104 };

describe('device address list (zod)', () => {
  it('accepts IPv4, IPv6 and CIDR ranges of both, trimmed and deduplicated', () => {
    const r = deviceInputSchema.parse({ ...base, addresses: [' 10.1.2.3', '10.1.2.0/24', '2001:db8::1', '2001:db8::/32', '10.1.2.3'] });
    expect(r.addresses).toEqual(['10.1.2.3', '10.1.2.0/24', '2001:db8::1', '2001:db8::/32']);
    expect(deviceInputSchema.parse(base).addresses).toEqual([]);
  });

  it('refuses host names, bad prefixes and junk with one message naming them', () => {
    for (const bad of ['pacs.local', '10.1.2.0/33', '10.1.2', '2001:db8::/129', '*', '10.0.0.1-10.0.0.9']) {
      const r = deviceInputSchema.safeParse({ ...base, addresses: ['10.0.0.1', bad] });
      expect(r.success, bad).toBe(false);
      const issue = r.error!.issues[0];
      expect(issue.path).toEqual(['addresses']);
      expect(issue.message).toContain(bad);
    }
  });

  it('PATCH leaves the list alone unless given', () => {
    expect(devicePatchSchema.parse({ name: 'x' })).not.toHaveProperty('addresses');
    expect(devicePatchSchema.safeParse({ addresses: ['nope'] }).success).toBe(false);
  });

  it('splits the form field on commas, spaces and new lines', () => {
    expect(splitAddresses(' 10.0.0.1, 10.0.1.0/24\n2001:db8::/32 ;')).toEqual(['10.0.0.1', '10.0.1.0/24', '2001:db8::/32']);
  });
});

describe('peer address matching', () => {
  it('reads IPv4-mapped IPv6 peers as IPv4 and drops zone ids', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(normalizeAddress('0:0:0:0:0:ffff:198.18.4.2')).toBe('198.18.4.2');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeAddress('[::1]')).toBe('::1');
    expect(normalizeAddress('pacs.local')).toBeNull();
  });

  it('matches single addresses and CIDR ranges, never across families or outside the range', () => {
    expect(addressInList('::ffff:198.18.7.2', ['198.18.7.0/30'])).toBe(true);
    expect(addressInList('198.18.7.5', ['198.18.7.0/30'])).toBe(false);
    expect(addressInList('::ffff:10.0.0.9', ['10.0.0.9'])).toBe(true);
    expect(addressInList('10.0.0.9', ['::ffff:10.0.0.0/104'])).toBe(true);
    expect(addressInList('2001:db8::5', ['2001:db8::/32'])).toBe(true);
    expect(addressInList('2001:db9::5', ['2001:db8::/32'])).toBe(false);
    expect(addressInList('::1', ['127.0.0.1'])).toBe(false);
    expect(addressInList('10.0.0.1', [])).toBe(false);
    expect(addressInList('', ['0.0.0.0/0'])).toBe(false);
    expect(addressInList('10.0.0.1', ['not-an-address', '10.0.0.1/40'])).toBe(false);
  });

  it('binds a device to what its host resolves to, or to its listed addresses', async () => {
    expect(await resolveHost('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(await resolveHost('localhost')).toContain('127.0.0.1');
    expect(await resolveHost('no-such-host.invalid')).toEqual([]);
    expect(await peerIsDevice('::ffff:127.0.0.1', { host: 'localhost', addresses: [] })).toBe(true);
    expect(await peerIsDevice('::ffff:127.0.0.1', { host: '10.9.9.9', addresses: [] })).toBe(false);
    expect(await peerIsDevice('::ffff:127.0.0.1', { host: 'no-such-host.invalid', addresses: [] })).toBe(false);
    expect(await peerIsDevice('::ffff:127.0.0.1', { host: '10.9.9.9', addresses: ['127.0.0.0/8'] })).toBe(true);
  });
});
