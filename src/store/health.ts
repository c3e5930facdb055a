/**
 * Can the flag store silently forget? PROTOCOL.md section 3, "flags that vanish": a Redis
 * restarted without persistence, or one evicting keys under memory pressure, sends every
 * feature back to its env value or off, with no event. `doctor` and `status` ask the
 * server how it is configured and look at the keys for traces of a reset.
 *
 * The facts are gathered by the store (it has the connection, whatever the topology);
 * the judgement here is pure, so each rule is testable on its own.
 */

export type HealthStatus = 'ok' | 'warn' | 'unknown';
export type HealthId = 'persistence' | 'eviction' | 'reset';

export interface HealthFinding {
  id: HealthId;
  status: HealthStatus;
  /** What was seen, in one line: "RDB snapshots off (save ""), AOF off". */
  summary: string;
  /** What to do; set on warn and unknown. */
  hint: string | null;
}

/** How one Redis server (one Cluster master) is configured; null: could not be read. */
export interface ServerFacts {
  /** Where, for people (host:port of a Cluster node; "" for the only server). */
  node: string;
  /** CONFIG GET save: "" means RDB snapshots are off. */
  save: string | null;
  /** INFO persistence aof_enabled (CONFIG GET appendonly when INFO is refused). */
  aof: boolean | null;
  /** INFO memory maxmemory_policy / maxmemory (CONFIG GET when INFO is refused). */
  policy: string | null;
  maxmemory: number | null;
  uptimeS: number | null;
  /** Why something could not be read: "CONFIG GET refused: NOPERM ...". */
  refused: string[];
}

/** What the keys of this prefix look like right now. */
export interface KeyFacts {
  flagsKey: string;
  revKey: string;
  auditKey: string;
  /** Fields of the flags hash; null when the key does not exist. */
  flagFields: string[] | null;
  /** The rev key's value; null when it does not exist. */
  rev: number | null;
  auditLength: number;
  /** The rev of the newest audit entry (null: empty stream). */
  auditLastRev: number | null;
  /** Each feature's newest audit entry within the scanned window: it wrote the hash field. */
  audited: { feature: string; to: boolean; rev: number; at: string }[];
  /** Verify record lists of this prefix that exist (keys). */
  verifyKeys: string[];
  /** Keys of this prefix that carry a TTL, with the ms left. */
  ttls: { key: string; ms: number }[];
}

const EVICTS_ANY = /^allkeys-/;
const EVICTS_TTL = /^volatile-/;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function ago(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3_600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

const at = (n: ServerFacts) => (n.node ? `${n.node}: ` : '');

function persistence(servers: ServerFacts[]): HealthFinding {
  const bad: string[] = [];
  const unknown: string[] = [];
  const good: string[] = [];
  for (const n of servers) {
    const rdb = n.save === null ? null : n.save.trim() !== '';
    if (n.aof === true) good.push(`${at(n)}AOF on${rdb ? `, RDB snapshots (save ${n.save})` : ''}`);
    else if (rdb === true) good.push(`${at(n)}RDB snapshots (save ${n.save})${n.aof === false ? ', AOF off' : ''}`);
    else if (n.aof === false && rdb === false) {
      bad.push(`${at(n)}RDB snapshots off (save ""), AOF off${n.uptimeS !== null ? `; up ${ago(n.uptimeS)}` : ''}`);
    } else unknown.push(`${at(n)}${n.aof === false ? 'AOF off, RDB snapshots: could not check' : 'could not check'} (${n.refused.join('; ') || 'not reported'})`);
  }
  if (bad.length) {
    return {
      id: 'persistence', status: 'warn',
      summary: `no persistence: ${[...bad, ...unknown].join(' · ')}: a restart forgets every flag, and every feature goes back to REST (or its env var) with no event`,
      hint: 'turn on AOF (CONFIG SET appendonly yes, and appendonly yes in redis.conf) or RDB snapshots (save 3600 1 300 100); on a managed Redis, enable its persistence or backups',
    };
  }
  if (unknown.length) {
    return {
      id: 'persistence', status: 'unknown',
      summary: `${[...unknown, ...good].join(' · ')}`,
      hint: 'this user may not run CONFIG GET (managed Redis, ACL): check by hand that AOF or RDB snapshots are on',
    };
  }
  return { id: 'persistence', status: 'ok', summary: good.join(' · '), hint: null };
}

function eviction(servers: ServerFacts[], keys: KeyFacts): HealthFinding {
  const problems: string[] = [];
  const unknown: string[] = [];
  const seen: string[] = [];
  const expiring = keys.ttls.filter((t) => t.key === keys.flagsKey || t.key === keys.revKey || t.key === keys.auditKey);
  for (const n of servers) {
    if (n.policy === null) { unknown.push(`${at(n)}maxmemory-policy: could not check (${n.refused.join('; ') || 'not reported'})`); continue; }
    const limit = n.maxmemory === null ? '' : n.maxmemory === 0 ? ', no maxmemory set yet' : `, maxmemory ${n.maxmemory} bytes`;
    if (EVICTS_ANY.test(n.policy)) problems.push(`${at(n)}maxmemory-policy ${n.policy}${limit}: any key may be evicted, the flags hash included`);
    else if (EVICTS_TTL.test(n.policy) && expiring.length) problems.push(`${at(n)}maxmemory-policy ${n.policy}${limit} and the flag keys carry a TTL: they may be evicted`);
    else seen.push(`${at(n)}maxmemory-policy ${n.policy}${EVICTS_TTL.test(n.policy) ? ' (flag keys carry no TTL)' : ''}`);
  }
  for (const t of expiring) problems.push(`${t.key} expires in ${ago(Math.ceil(t.ms / 1000))} (it has a TTL)`);
  if (problems.length) {
    return {
      id: 'eviction', status: 'warn',
      summary: problems.join(' · '),
      hint: 'use maxmemory-policy noeviction (or volatile-* with no TTL on the flag keys: PERSIST them), or keep the flags in a Redis of their own',
    };
  }
  if (unknown.length) {
    return {
      id: 'eviction', status: 'unknown', summary: [...unknown, ...seen].join(' · '),
      hint: 'this user may not read INFO or CONFIG (managed Redis, ACL): check by hand that maxmemory-policy is noeviction',
    };
  }
  return { id: 'eviction', status: 'ok', summary: seen.join(' · '), hint: null };
}

function reset(keys: KeyFacts): HealthFinding {
  const signs: string[] = [];
  const traces = [
    keys.auditLength ? `the audit stream has ${plural(keys.auditLength, 'entry', 'entries')}` : '',
    keys.verifyKeys.length ? `verify records exist (${keys.verifyKeys.join(', ')})` : '',
  ].filter(Boolean);
  if (keys.flagFields === null && traces.length) signs.push(`${keys.flagsKey} is gone, but ${traces.join(' and ')}`);
  if (keys.auditLastRev !== null && (keys.rev ?? 0) < keys.auditLastRev) {
    signs.push(`the rev went backwards: ${keys.revKey} is ${keys.rev === null ? 'missing' : keys.rev}, the newest audit entry has rev ${keys.auditLastRev}`);
  }
  if (keys.flagFields !== null) {
    // Every change writes its field; nothing in the tool removes one.
    const have = new Set(keys.flagFields);
    const lost = keys.audited.filter((a) => !have.has(a.feature));
    if (lost.length) signs.push(`the flags hash lost ${lost.map((a) => `${a.feature} (set ${a.to ? 'on' : 'off'} at rev ${a.rev})`).join(', ')}`);
  }
  if (signs.length) {
    return {
      id: 'reset', status: 'warn',
      summary: `the store looks reset: ${signs.join('; ')}; backends now read these flags from their env vars or as off`,
      hint: 'Redis restarted without persistence or evicted keys: check `thor-cutover history` for what the flags were and set them again with enable/disable --reason "restore after reset"',
    };
  }
  const summary = keys.flagFields === null && !keys.auditLength
    ? 'no flags written under this prefix yet'
    : `rev ${keys.rev ?? 0}, ${plural(keys.auditLength, 'audit entry', 'audit entries')}, ${plural(keys.flagFields?.length ?? 0, 'flag')}: consistent`;
  return { id: 'reset', status: 'ok', summary, hint: null };
}

export function judgeHealth(servers: ServerFacts[], keys: KeyFacts): HealthFinding[] {
  return [persistence(servers), eviction(servers, keys), reset(keys)];
}

/** `INFO` text -> field map ("aof_enabled" -> "0"). */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}
