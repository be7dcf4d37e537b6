/**
 * Egress allowances for tests. Test workers use the real egress policy, which refuses loopback;
 * a test allows exactly the servers it starts (`127.0.0.1:<port>`), for as long as they run, by
 * adding them to this process's `WEFT_EGRESS_ALLOW` (the policy reads it on every call). The
 * suite's Temporal server stays refused: `npm test` lists its ports in `WEFT_EGRESS_PROTECT`,
 * and only an entry naming one of those ports exactly could unlock it.
 */

const entries: string[] = [];
const original = process.env.WEFT_EGRESS_ALLOW;

function publish(): void {
  const all = [...(original ? [original] : []), ...entries];
  if (all.length === 0) delete process.env.WEFT_EGRESS_ALLOW;
  else process.env.WEFT_EGRESS_ALLOW = all.join(',');
}

/** Allows the entries (host:port, URL, …) until the returned function is called. */
export function allowEgress(...allowed: string[]): () => void {
  entries.push(...allowed);
  publish();
  let revoked = false;
  return () => {
    if (revoked) return;
    revoked = true;
    for (const entry of allowed) entries.splice(entries.indexOf(entry), 1);
    publish();
  };
}

/** The egress allowance of a local server at `url` (`http://127.0.0.1:<port>`): that port only. */
export function allowLocalServer(url: string): () => void {
  const { hostname, port } = new URL(url);
  return allowEgress(`${hostname}:${port}`);
}

const DEFAULT_PORTS: Record<string, string> = {
  'redis:': '6379',
  'nats:': '4222',
  'postgres:': '5432',
  'smtp:': '587',
};

/** The allow entry naming exactly one service: `host:port` of a URL or `host:port` string. */
export function egressEntry(service: string): string {
  const url = new URL(/^[a-z]+:\/\//.test(service) ? service : `nats://${service}`);
  return `${url.hostname}:${url.port || DEFAULT_PORTS[url.protocol] || ''}`;
}
