/**
 * Target strings, as grpc names them (https://github.com/grpc/grpc/blob/master/doc/naming.md):
 * `host:port`, `dns:host:port`, `dns:///host:port`, `ipv4:1.2.3.4:50051,1.2.3.5:50052`,
 * `ipv6:[::1]:50051,[::2]:50052`, `[::1]:50051`. Parsed once, at transport creation.
 */
import { isIP } from 'node:net';
import { promises as dns } from 'node:dns';

/** One IP endpoint. */
export interface Address {
  host: string;
  port: number;
}

/** A parsed target: fixed IP addresses, or a hostname to resolve (and re-resolve). */
export interface Target {
  /** The :authority header: `host:port` as written in the target. */
  authority: string;
  /** Set for targets that need DNS; `addresses` is then empty until resolved. */
  hostname?: string;
  port: number;
  addresses: Address[];
}

/** gRPC's default port when a target names none. */
const DEFAULT_PORT = 443;

/** Parses a target; throws on a malformed one, so a bad config fails at start-up. */
export function parseTarget(target: string): Target {
  if (target.startsWith('ipv4:') || target.startsWith('ipv6:')) {
    const family = target[3] === '4' ? 4 : 6;
    const addresses = target
      .slice(5)
      .split(',')
      .map((part) => {
        const address = parseHostPort(part.trim(), target);
        if (isIP(address.host) !== family) throw new Error(`Invalid ipv${family} address "${part}" in target "${target}"`);
        return address;
      });
    return { authority: formatHostPort(addresses[0]), port: addresses[0].port, addresses };
  }
  let rest = target;
  if (rest.startsWith('dns:')) rest = rest.slice(4).replace(/^\/\/[^/]*\//, '');
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) throw new Error(`Unsupported target scheme in "${target}"`);
  const address = parseHostPort(rest, target);
  const authority = formatHostPort(address);
  if (isIP(address.host)) return { authority, port: address.port, addresses: [address] };
  return { authority, hostname: address.host, port: address.port, addresses: [] };
}

function parseHostPort(text: string, target: string): Address {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new Error(`Unclosed "[" in target "${target}"`);
    host = text.slice(1, close);
    if (text.length > close + 1) {
      if (text[close + 1] !== ':') throw new Error(`Invalid target "${target}"`);
      portText = text.slice(close + 2);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) {
      host = text; // A bare IPv6 literal: no port.
    } else if (colon >= 0) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else {
      host = text;
    }
  }
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid target "${target}"`);
  return { host, port };
}

/** `host:port`, with brackets around IPv6 literals. */
export function formatHostPort(address: Address): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** All addresses of a hostname (A and AAAA), in the resolver's order. */
export async function resolveHost(hostname: string, port: number): Promise<Address[]> {
  const found = await dns.lookup(hostname, { all: true });
  return found.map(({ address }) => ({ host: address, port }));
}
