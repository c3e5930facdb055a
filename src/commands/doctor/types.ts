/** What every doctor check reports: the runbook's "Debugging" steps, each answered with a measurement. */

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
export type Section = 'config' | 'redis' | 'rest' | 'ws' | 'flags' | 'clock';

export interface Check {
  /** Stable, for scripts: `redis.reachable`, `rest.positions`, `ws.type.intraday`. */
  id: string;
  section: Section;
  title: string;
  status: CheckStatus;
  /** What was seen: "101 Switching Protocols in 4ms", "404 at http://thor:8000/api/x/". */
  measured: string;
  /** What to do about it; set on failures and warnings. */
  hint: string | null;
}

export interface DoctorReport {
  startedAt: string;
  durationMs: number;
  /** The whole run's bound, and how long the WebSocket was watched. */
  timeoutMs: number;
  watchedMs: number;
  speed: number;
  target: { config: string; url: string; wsUrl: string; redis: string; prefix: string; token: boolean };
  summary: Record<CheckStatus, number>;
  checks: Check[];
  interrupted: boolean;
}

export function check(section: Section, id: string, title: string, status: CheckStatus, measured: string, hint: string | null = null): Check {
  return { id, section, title, status, measured, hint };
}
