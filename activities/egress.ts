/**
 * The egress policy: where connectors may connect. Every connector that takes a URL or a host
 * asks it, after DNS resolution, for every address a name resolves to, and then connects to the
 * address it checked (never resolving the name a second time, so a DNS answer that changes
 * between the check and the connect cannot slip an address past it).
 *
 * Refused unless allow-listed:
 * - every address that is not public unicast: loopback (127/8, ::1), link-local (169.254/16,
 *   fe80::/10, cloud metadata), private (10/8, 172.16/12, 192.168/16, fc00::/7), CGNAT
 *   (100.64/10), 0.0.0.0/8 and ::, multicast, broadcast, documentation and reserved ranges, and
 *   the IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d` is judged as the
 *   IPv4 address it maps);
 * - the services weft itself uses (Temporal's frontend, HTTP API and Web UI, the gateway, the
 *   store database, the result-cache Redis, the events NATS, plus `WEFT_EGRESS_PROTECT`), whatever
 *   their address. Only an allow entry that names their port unlocks them: allowing a whole
 *   range such as `10.0.0.0/8` does not.
 *
 * Allow entries (`WEFT_EGRESS_ALLOW` for every tenant, `WEFT_EGRESS_ALLOW_<TENANT>` for one,
 * the tenant id upper-cased with `-` as `_`), comma-separated:
 * - `10.1.2.3`, `10.0.0.0/8`, `fd00::/8`: addresses, any port;
 * - `10.1.2.3:5432`, `10.0.0.0/8:443`, `[fd00::1]:443`, `[fd00::/8]:443`: one port;
 * - `db.internal`, `db.internal:5432`: whatever that name resolves to, when a call names it;
 * - `http://127.0.0.1:8080/healthz`: that exact URL path (a path ending in `/` is a prefix),
 *   for the http connector only; any query string.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;
type Ip = ipaddr.IPv4 | ipaddr.IPv6;

/** One connection a connector is about to open. */
export interface EgressTarget {
  /** The host as the caller named it: a name or an IP literal (IPv6 with or without brackets). */
  host: string;
  port: number;
  /** The http connector's URL, for URL allow entries. */
  url?: URL;
}

/** A checked address to connect to. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

/** What a check returns: every address of the target, each allowed. */
export interface EgressResolution {
  host: string;
  port: number;
  addresses: PinnedAddress[];
}

/** The policy as one tenant's calls see it. */
export interface EgressGuard {
  /** Resolves the target and checks every address; throws `EgressDenied` naming the first refused one. */
  resolve(target: EgressTarget): Promise<EgressResolution>;
  /** Checks addresses resolved earlier (a pooled connection's) against this tenant's entries. */
  check(resolution: EgressResolution): Promise<void>;
}

interface AllowEntry {
  text: string;
  source: string;
  port?: number;
  cidr?: [Ip, number];
  name?: string;
  url?: { protocol: string; host: string; port: number; path: string };
}

interface ProtectedEndpoint {
  what: string;
  host: string;
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = {
  'http:': 80,
  'https:': 443,
  'postgres:': 5432,
  'postgresql:': 5432,
  'redis:': 6379,
  'rediss:': 6379,
  'nats:': 4222,
  'tls:': 4222,
};

/** An address as judged: IPv4-mapped IPv6 becomes the IPv4 address it stands for. */
function normalize(ip: Ip): Ip {
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}

function parseIp(text: string): Ip | undefined {
  const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  return isIP(bare) ? normalize(ipaddr.parse(bare)) : undefined;
}

/** The range name of a non-public address, or undefined for a public unicast one. */
export function nonPublicRange(ip: Ip): string | undefined {
  const range = normalize(ip).range();
  return range === 'unicast' ? undefined : range;
}

function sameIp(a: Ip, b: Ip): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}

function normalName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function parsePort(text: string, where: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`${where}: "${text}" is not a port (1-65535)`);
  return port;
}

function parseCidr(text: string, where: string): [Ip, number] {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (isIP(addressText) === 0) throw new Error(`${where}: "${addressText}" is not an IP address`);
  if (slash < 0) {
    const ip = normalize(ipaddr.parse(addressText));
    return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  }
  const bitsText = text.slice(slash + 1);
  const ip = ipaddr.parse(addressText);
  const max = ip.kind() === 'ipv4' ? 32 : 128;
  const bits = Number(bitsText);
  if (!/^\d+$/.test(bitsText) || bits > max)
    throw new Error(`${where}: "/${bitsText}" is not a prefix length (0-${max})`);
  // An IPv4-mapped range is the IPv4 range it maps.
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(ip as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [ip, bits];
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** Parses one allow entry; throws naming the variable and the entry. */
export function parseAllowEntry(raw: string, source: string): AllowEntry {
  const text = raw.trim();
  const where = `${source}: entry "${text}"`;
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`${where}: not a URL`);
    }
    if (url.search || url.hash || url.username || url.password) {
      throw new Error(`${where}: a URL entry is a scheme, host, optional port and path only`);
    }
    return {
      text,
      source,
      port: Number(url.port || DEFAULT_PORTS[url.protocol]),
      url: {
        protocol: url.protocol,
        host: normalName(url.hostname),
        port: Number(url.port || DEFAULT_PORTS[url.protocol]),
        path: url.pathname,
      },
    };
  }
  // [v6], [v6/len], each with an optional :port.
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const cidr = parseCidr(bracketed[1] as string, where);
    if (cidr[0].kind() !== 'ipv6' && !(bracketed[1] as string).includes(':')) {
      throw new Error(`${where}: brackets are for IPv6 addresses`);
    }
    return { text, source, cidr, ...(bracketed[2] === undefined ? {} : { port: parsePort(bracketed[2], where) }) };
  }
  if (text.split(':').length > 2) return { text, source, cidr: parseCidr(text, where) }; // bare IPv6, no port
  const [hostPart = '', portPart] = text.split(':');
  const port = portPart === undefined ? {} : { port: parsePort(portPart, where) };
  if (/^[\d./]+$/.test(hostPart)) {
    const addressText = hostPart.split('/')[0] ?? '';
    if (!ipaddr.IPv4.isValidFourPartDecimal(addressText)) {
      throw new Error(`${where}: "${addressText}" is not a dotted-decimal IPv4 address`);
    }
    return { text, source, cidr: parseCidr(hostPart, where), ...port };
  }
  // A name whose last label is a number would be read as an IPv4 address by a URL: not a name.
  if (/(^|\.)(0x[0-9a-f]*|\d+)\.?$/i.test(hostPart)) {
    throw new Error(`${where}: "${hostPart}" is neither a dotted-decimal IPv4 address nor a host name`);
  }
  if (!HOST_NAME.test(hostPart))
    throw new Error(`${where}: expected a host, host:port, CIDR, CIDR:port or http(s) URL`);
  return { text, source, name: normalName(hostPart), ...port };
}

function parseList(value: string | undefined, source: string): AllowEntry[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseAllowEntry(s, source));
}

/** `WEFT_EGRESS_ALLOW_<TENANT>`: the tenant id upper-cased, `-` as `_` (tenant ids never hold `_`). */
export function tenantAllowVariable(tenant: string): string {
  return `WEFT_EGRESS_ALLOW_${tenant.toUpperCase().replace(/-/g, '_')}`;
}

/** host:port of a `host:port` string or URL, with a default port; undefined when unreadable. */
function endpointOf(text: string | undefined, defaultPort: number): { host: string; port: number } | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `tcp://${text}`);
    if (!url.hostname) return undefined;
    return { host: url.hostname, port: Number(url.port || DEFAULT_PORTS[url.protocol] || defaultPort) };
  } catch {
    return undefined;
  }
}

/** The services weft itself uses, from the same variables the gateway and worker read. */
export function protectedEndpoints(env: Env): ProtectedEndpoint[] {
  const found: ProtectedEndpoint[] = [];
  const add = (what: string, endpoint: { host: string; port: number } | undefined) => {
    if (endpoint) found.push({ what, ...endpoint });
  };
  const frontend = endpointOf(env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', 7233);
  add('the Temporal frontend', frontend);
  // Temporal's HTTP API on its default port (7243, what `npm start` uses too).
  if (frontend) add("the Temporal HTTP API (Temporal's default port)", { host: frontend.host, port: 7243 });
  add('the Temporal Web UI', endpointOf(env.TEMPORAL_UI_URL ?? 'http://localhost:8233', 8233));
  add('the weft gateway', { host: '127.0.0.1', port: Number(env.PORT ?? 8080) || 8080 });
  if (env.DATABASE_URL && /^postgres(ql)?:/i.test(env.DATABASE_URL)) {
    add('the weft store database', endpointOf(env.DATABASE_URL, 5432));
  }
  if (env.REDIS_URL) add('the result-cache Redis', endpointOf(env.REDIS_URL, 6379));
  if (env.WEFT_CACHE_REDIS_URL) add('the result-cache Redis', endpointOf(env.WEFT_CACHE_REDIS_URL, 6379));
  if (env.WEFT_WEBHOOK_NONCE_REDIS_URL) {
    add('the webhook replay guard Redis', endpointOf(env.WEFT_WEBHOOK_NONCE_REDIS_URL, 6379));
  }
  if (env.WEFT_EVENTS_NATS_SUBJECT) {
    for (const server of (env.WEFT_NATS_URL ?? '127.0.0.1:4222').split(',')) {
      add('the events NATS server', endpointOf(server.trim(), 4222));
    }
  }
  if (env.WEFT_WORKER_METRICS_PORT) {
    add('the worker metrics endpoint', { host: '127.0.0.1', port: Number(env.WEFT_WORKER_METRICS_PORT) });
  }
  for (const entry of (env.WEFT_EGRESS_PROTECT ?? '').split(',').map((s) => s.trim())) {
    if (!entry) continue;
    const endpoint = endpointOf(entry, 0);
    if (!endpoint || !endpoint.port) throw new Error(`WEFT_EGRESS_PROTECT: entry "${entry}" is not host:port`);
    add(`a service weft uses (WEFT_EGRESS_PROTECT ${entry})`, endpoint);
  }
  return found;
}

/** Every address of this host: a service bound to 0.0.0.0 or loopback is reachable on each. */
function localAddresses(): Ip[] {
  const all = Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [i.address] : []));
  return [...all, '127.0.0.1', '::1', '0.0.0.0', '::'].flatMap((a) => {
    const ip = parseIp(a);
    return ip ? [ip] : [];
  });
}

async function addressesOf(host: string): Promise<Ip[]> {
  const literal = parseIp(host);
  if (literal) return [literal];
  try {
    const found = await lookup(host, { all: true, verbatim: true });
    return found.flatMap((f) => {
      const ip = parseIp(f.address);
      return ip ? [ip] : [];
    });
  } catch {
    return [];
  }
}

interface ProtectedAddress {
  what: string;
  ip: Ip;
  port: number;
}

async function protectedAddresses(endpoints: ProtectedEndpoint[]): Promise<ProtectedAddress[]> {
  const local = localAddresses();
  const lists = await Promise.all(
    endpoints.map(async (e) => {
      const ips = await addressesOf(e.host);
      // A service on this host is reachable on each of its addresses.
      const expanded = ips.some((ip) => local.some((l) => sameIp(l, ip))) ? [...ips, ...local] : ips;
      return expanded.map((ip) => ({ what: e.what, ip, port: e.port }));
    }),
  );
  return lists.flat();
}

function entryMatches(entry: AllowEntry, ip: Ip, target: EgressTarget): boolean {
  if (entry.port !== undefined && entry.port !== target.port) return false;
  if (entry.url) {
    const url = target.url;
    if (!url || url.protocol !== entry.url.protocol || normalName(url.hostname) !== entry.url.host) return false;
    const path = url.pathname;
    return entry.url.path.endsWith('/') ? path.startsWith(entry.url.path) : path === entry.url.path;
  }
  if (entry.name) return normalName(target.host.replace(/^\[|\]$/g, '')) === entry.name;
  if (entry.cidr) {
    const [range, bits] = entry.cidr;
    if (ip.kind() !== range.kind()) return false;
    return ip.kind() === 'ipv4'
      ? (ip as ipaddr.IPv4).match(range as ipaddr.IPv4, bits)
      : (ip as ipaddr.IPv6).match(range as ipaddr.IPv6, bits);
  }
  return false;
}

export function describeTarget(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

function denied(tenant: string, target: EgressTarget, ip: Ip, reason: string, entryHint: string): never {
  const address = describeTarget(ip.toString(), target.port);
  const named = parseIp(target.host) ? address : `${describeTarget(target.host, target.port)} (${address})`;
  throw nonRetryableFailure(
    ErrorTypes.EgressDenied,
    `egress to ${named} refused: ${reason}; an operator can allow it with WEFT_EGRESS_ALLOW=${entryHint} ` +
      `(every tenant) or ${tenantAllowVariable(tenant)}=${entryHint} (tenant "${tenant}" only)`,
    { host: target.host, address: ip.toString(), port: target.port, tenant },
  );
}

/** The policy read from the environment; entries are validated when it is built. */
export class EgressPolicy {
  private readonly global: AllowEntry[];
  private readonly protect: ProtectedEndpoint[];

  private readonly envs: Env[];

  /**
   * `env` holds connector settings (a worker's environment, or a test's own settings); allow
   * entries and the services weft uses are read from it and from `processEnv`, this process's
   * own environment, which is the same object in a worker.
   */
  constructor(env: Env, processEnv: Env = process.env) {
    this.envs = env === processEnv ? [env] : [env, processEnv];
    this.global = this.envs.flatMap((e) => parseList(e.WEFT_EGRESS_ALLOW, 'WEFT_EGRESS_ALLOW'));
    this.protect = this.envs.flatMap((e) => protectedEndpoints(e));
    // Tenant variables are validated up front as well, so a typo fails at start-up.
    for (const e of this.envs) {
      for (const [name, value] of Object.entries(e)) {
        if (name.startsWith('WEFT_EGRESS_ALLOW_')) parseList(value, name);
      }
    }
  }

  forTenant(tenant: string): EgressGuard {
    const variable = tenantAllowVariable(tenant);
    const entries = [...this.global, ...this.envs.flatMap((e) => parseList(e[variable], variable))];
    const judge = async (target: EgressTarget, ips: Ip[]) => {
      const guarded = await protectedAddresses(this.protect);
      for (const ip of ips) {
        const matching = entries.filter((e) => entryMatches(e, ip, target));
        const service = guarded.find((p) => p.port === target.port && sameIp(p.ip, ip));
        const hint = describeTarget(ip.toString(), target.port);
        if (service) {
          // Only an entry naming the port unlocks a service weft itself uses.
          if (!matching.some((e) => e.port !== undefined)) denied(tenant, target, ip, `it is ${service.what}`, hint);
          continue;
        }
        const range = nonPublicRange(ip);
        if (range && matching.length === 0) {
          denied(tenant, target, ip, `${ip.toString()} is not a public address (${range})`, hint);
        }
      }
    };
    return {
      async resolve(target) {
        const ips = await addressesOf(target.host);
        if (ips.length === 0) {
          throw retryableFailure(ErrorTypes.ConnectionError, `cannot resolve host "${target.host}"`);
        }
        await judge(target, ips);
        return {
          host: target.host,
          port: target.port,
          addresses: ips.map((ip) => ({ address: ip.toString(), family: ip.kind() === 'ipv4' ? 4 : 6 })),
        };
      },
      async check(resolution) {
        const ips = resolution.addresses.flatMap((a) => {
          const ip = parseIp(a.address);
          return ip ? [ip] : [];
        });
        await judge({ host: resolution.host, port: resolution.port }, ips);
      },
    };
  }
}

const EGRESS_VARIABLES =
  /^(WEFT_EGRESS_|TEMPORAL_ADDRESS$|TEMPORAL_UI_URL$|PORT$|DATABASE_URL$|REDIS_URL$|WEFT_CACHE_REDIS_URL$|WEFT_WEBHOOK_NONCE_REDIS_URL$|WEFT_NATS_URL$|WEFT_EVENTS_NATS_SUBJECT$)/;
let cached: { key: string; policy: EgressPolicy } | undefined;

/**
 * The policy for the current values of `env`, rebuilt only when one of the variables it reads
 * changed (tests add allow entries for the servers they start while their worker runs).
 */
export function egressPolicyFromEnv(env: Env): EgressPolicy {
  const relevant = (from: Env) =>
    Object.entries(from)
      .filter(([name]) => EGRESS_VARIABLES.test(name))
      .sort(([a], [b]) => a.localeCompare(b));
  const key = JSON.stringify([relevant(env), env === process.env ? [] : relevant(process.env)]);
  if (cached?.key !== key) cached = { key, policy: new EgressPolicy(env) };
  return cached.policy;
}

/** The first checked address of a resolution, in URL host form (IPv6 in brackets). */
export function pinnedHost(resolution: EgressResolution): string {
  const first = resolution.addresses[0];
  if (!first) throw new Error(`no checked address for ${resolution.host}`);
  return first.family === 6 ? `[${first.address}]` : first.address;
}
