/**
 * The SSRF guard: webhook URLs often come from users, so a target must not be pointed at the
 * sender's own network (cloud metadata at 169.254.169.254, internal services on 10.x, localhost).
 * Every address a destination resolves to is checked at connect time, so DNS rebinding cannot
 * slip past a check made earlier.
 *
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { TransportError } from '../../errors.ts';

/** Kinds of addresses a webhook target refuses unless allowed. */
export type AddressKind = 'loopback' | 'private' | 'link-local';

const RANGES: Record<AddressKind | 'reserved', [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  private: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['100.64.0.0', 10, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
  'link-local': [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  // Never a webhook receiver: "this network", multicast, reserved, and the unspecified addresses.
  reserved: [
    ['0.0.0.0', 8, 'ipv4'],
    ['224.0.0.0', 4, 'ipv4'],
    ['240.0.0.0', 4, 'ipv4'],
    ['::', 128, 'ipv6'],
    ['ff00::', 8, 'ipv6'],
  ],
};

function blockListOf(kinds: readonly (AddressKind | 'reserved')[]): BlockList {
  const list = new BlockList();
  for (const kind of kinds)
    for (const [network, prefix, family] of RANGES[kind]) list.addSubnet(network, prefix, family);
  return list;
}

/** Which kind of forbidden address `address` is, or undefined when it is public. */
export function classifyAddress(address: string): AddressKind | 'reserved' | undefined {
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is checked as the IPv4 address it maps.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  for (const kind of ['loopback', 'private', 'link-local', 'reserved'] as const) {
    if (blockListOf([kind]).check(ip, family)) return kind;
  }
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** The shape of `dns.lookup` that `net.connect` calls. */
export type Lookup = (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => void;

/**
 * A `lookup` for sockets that fails with a {@link TransportError} when the host resolves to an
 * address of a kind not in `allow`. IP literals never reach a lookup: check them with
 * {@link assertAllowedHost} too.
 */
export function guardedLookup(
  destination: string,
  allow: readonly AddressKind[],
  resolve: Lookup = dnsLookup as Lookup,
): Lookup {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const refused = list.find((entry) => isRefused(entry.address, allow));
      if (refused) return callback(refusal(destination, hostname, refused.address, allow) as NodeJS.ErrnoException, []);
      if (options.all) return callback(null, list);
      const first = list[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/** Throws when `hostname` is an IP literal of a refused kind. */
export function assertAllowedHost(destination: string, hostname: string, allow: readonly AddressKind[]): void {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isRefused(host, allow)) throw refusal(destination, host, host, allow);
}

function isRefused(address: string, allow: readonly AddressKind[]): boolean {
  const kind = classifyAddress(address);
  return kind !== undefined && (kind === 'reserved' || !allow.includes(kind));
}

function refusal(
  destination: string,
  hostname: string,
  address: string,
  allow: readonly AddressKind[],
): TransportError {
  const kind = classifyAddress(address);
  return new TransportError(
    destination,
    `Refused to deliver to ${destination}: ${hostname} resolves to ${address}, a ${kind} address (SSRF guard). ` +
      (kind === 'reserved'
        ? 'It can never be a webhook receiver.'
        : `If this is intended, pass allowAddresses: [${[...allow, kind].map((k) => `'${k}'`).join(', ')}].`),
    false,
  );
}
