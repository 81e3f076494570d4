import type { Cluster, Redis } from 'ioredis';
import { InvalidOptionError } from '../errors';

const URL_OPTION = 'connection.url';
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$/;

/**
 * @internal Refuses, before ioredis sees them, connection settings the queue cannot work with:
 * ioredis `keyPrefix` (in options, in a URL's query, on a reused client) and URLs ioredis would
 * misread. No message names a password: URLs are shown redacted.
 */
export function checkConnection(connection: object): void {
  if (isRedisClient(connection)) {
    const options = connection.options as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
    checkKeyPrefix('connection.options.keyPrefix', options.keyPrefix);
    checkKeyPrefix('connection.options.redisOptions.keyPrefix', options.redisOptions?.keyPrefix);
  } else if ('cluster' in connection) {
    checkCluster((connection as { cluster: unknown }).cluster);
  } else if ('url' in connection) {
    const { url, options } = connection as { url: string; options?: { keyPrefix?: unknown } };
    checkUrl(url);
    if (options != null) checkKeyPrefix('connection.options.keyPrefix', options.keyPrefix);
  } else {
    checkKeyPrefix('connection.keyPrefix', (connection as { keyPrefix?: unknown }).keyPrefix);
  }
}

/** @internal An ioredis Cluster client handed in to be reused. */
export function isClusterClient(value: unknown): value is Cluster {
  return isRedisClient(value) && (value as { isCluster?: unknown }).isCluster === true;
}

/** `{ cluster: { nodes, options } }`: at least one `{ host, port }` node, and no keyPrefix. */
function checkCluster(cluster: unknown): void {
  const nodes = (cluster as { nodes?: unknown } | null)?.nodes;
  const valid = (n: unknown): boolean => {
    const { host, port } = (n ?? {}) as { host?: unknown; port?: unknown };
    return (
      typeof host === 'string' && HOST.test(host) && Number.isInteger(port) && Number(port) > 0 && Number(port) < 65536
    );
  };
  if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every(valid)) {
    throw new InvalidOptionError('connection.cluster.nodes', 'a non-empty array of { host, port }', nodes);
  }
  const options = (cluster as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options;
  checkKeyPrefix('connection.cluster.options.keyPrefix', options?.keyPrefix);
  checkKeyPrefix('connection.cluster.options.redisOptions.keyPrefix', options?.redisOptions?.keyPrefix);
}

/** @internal An ioredis client (Redis or Cluster) handed in to be reused. */
export function isRedisClient(value: unknown): value is Redis {
  return typeof (value as Redis).duplicate === 'function' && typeof (value as Redis).xadd === 'function';
}

/**
 * ioredis does not prefix XGROUP or XINFO, and cannot prefix the keys scripts derive (results,
 * key states): with a keyPrefix, reads fail with NOGROUP and results land outside the prefix.
 */
function checkKeyPrefix(option: string, value: unknown): void {
  if (value === undefined || value === '') return;
  throw new InvalidOptionError(
    option,
    "no ioredis keyPrefix (ioredis does not prefix XGROUP, XINFO or the keys scripts derive): use the module's `prefix` option instead",
    value,
  );
}

/**
 * @internal A redis:// or rediss:// URL that ioredis (Node's legacy url.parse) reads as WHATWG URL
 * does. An unencoded "#" in a password, say, cuts the URL there: Node prints a warning holding the
 * password, and ioredis connects to localhost:6379 instead. `option` names the URL in the error.
 */
export function checkUrl(url: string, option = URL_OPTION): void {
  const fail = (problem: string): never => {
    throw new InvalidOptionError(option, `a redis:// or rediss:// URL (${problem})`, redactUrl(url));
  };
  // The two parsers drop, trim or convert these differently.
  if (/[^\x21-\x7e]|\\/.test(url)) fail('spaces, "\\", control and non-ASCII characters must be percent-encoded');
  if (url.includes('#')) fail('"#" must be percent-encoded as %23, in a password too');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // The TypeError holds the URL as its `input`: never chained.
  }
  if (!parsed) return fail('it does not parse: percent-encode "/", "?", "@" and ":" in a user name or password');
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') fail('the scheme must be redis: or rediss:');
  if (!HOST.test(parsed.hostname)) fail('a host name, IPv4 or [IPv6] address is required');
  if (!/^\/?\d*$/.test(parsed.pathname)) fail('the only path is a database number, as /0');
  if ((parsed.pathname + parsed.search).includes('@')) {
    fail('an "@" after the host: percent-encode "/" and "?" in a password');
  }
  try {
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
  } catch {
    fail('malformed percent-encoding in the user name or password');
  }
  if (parsed.searchParams.has('keyPrefix')) checkKeyPrefix(`${option} ?keyPrefix`, 'set in the URL');
}

/** `url` with the user name, password and query values masked, for messages. */
export function redactUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? '';
  const at = url.lastIndexOf('@');
  const rest = (at >= 0 ? url.slice(at + 1) : url.slice(scheme.length)).replace(/([?&][^=&#]*=)[^&#]*/g, '$1***');
  return `${scheme}${at >= 0 ? '***@' : ''}${rest}`;
}

/** @internal Where a connection dials, for messages: host:port or the socket path, never credentials. */
export function redisAddress(options: { host?: string; port?: number; path?: string | null }): string {
  if (options.path) return options.path;
  const host = options.host ?? 'localhost';
  return `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 6379}`;
}
