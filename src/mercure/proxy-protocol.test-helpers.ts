/** PROXY protocol headers as a load balancer writes them (HAProxy's proxy-protocol.txt), for tests. */
import { isIP } from 'node:net';
import { V2_SIGNATURE } from './proxy-protocol.js';

export interface Endpoints {
  source: { address: string; port: number };
  destination: { address: string; port: number };
}

/** A version 1 line: `PROXY TCP4 src dst sport dport\r\n`, or `PROXY UNKNOWN\r\n` without endpoints. */
export function proxyV1(endpoints?: Endpoints): Buffer {
  if (endpoints === undefined) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const { source, destination } = endpoints;
  const family = isIP(source.address) === 4 ? 'TCP4' : 'TCP6';
  return Buffer.from(
    `PROXY ${family} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`,
    'latin1',
  );
}

/** 16 bytes of an IPv6 address (`::` expanded), or 4 of an IPv4 one. */
function addressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  for (const [i, g] of all.entries()) out.writeUInt16BE(g, i * 2);
  return out;
}

/**
 * A version 2 header: PROXY over TCP with `endpoints`, or LOCAL without them; `tlvs` are appended to the
 * address block as a balancer's type-length-value extensions would be.
 */
export function proxyV2(endpoints?: Endpoints, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  if (endpoints === undefined) {
    const head = Buffer.from([0x20, 0x00, 0, 0]);
    head.writeUInt16BE(tlvs.length, 2);
    return Buffer.concat([V2_SIGNATURE, head, tlvs]);
  }
  const v4 = isIP(endpoints.source.address) === 4;
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(endpoints.source.port, 0);
  ports.writeUInt16BE(endpoints.destination.port, 2);
  const block = Buffer.concat([
    addressBytes(endpoints.source.address),
    addressBytes(endpoints.destination.address),
    ports,
    tlvs,
  ]);
  const head = Buffer.from([0x21, v4 ? 0x11 : 0x21, 0, 0]);
  head.writeUInt16BE(block.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, block]);
}
