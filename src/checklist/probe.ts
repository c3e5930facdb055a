import type { FeatureConfig } from '../config/types.js';
import { WsClient } from '../stream/index.js';
import type { ScopingEvidence } from './items.js';

/** What an anonymous socket sees, bucketed by session: the scoping item (f). */
export class ScopingProbe {
  private readonly client: WsClient;
  private readonly byType: Map<string, string>;
  private readonly counts = new Map<number, Map<string, number>>();
  private readonly connectedIn = new Set<number>();
  private session: number | null = null;
  private connected = false;
  refusedStatus: number | null = null;

  constructor(url: string, features: FeatureConfig[], timeoutMs: number, speed: number) {
    this.byType = new Map(features.flatMap((f) => f.wsTypes.map((t) => [t, f.name] as const)));
    this.client = new WsClient({
      url, token: null, handshakeTimeoutMs: timeoutMs, pingIntervalMs: Math.max(250, 5_000 / speed),
      backoff: { initialMs: Math.max(50, 500 / speed), maxMs: Math.max(1_000, 15_000 / speed) },
    });
    this.client.on('open', () => { this.connected = true; if (this.session !== null) this.connectedIn.add(this.session); });
    this.client.on('close', () => { this.connected = false; });
    this.client.on('error', (e) => {
      if (e.handshakeStatus === 401 || e.handshakeStatus === 403) this.refusedStatus = e.handshakeStatus;
    });
    this.client.on('message', (m) => {
      const feature = this.byType.get(m.type);
      if (!feature || this.session === null) return;
      let c = this.counts.get(this.session);
      if (!c) { c = new Map(); this.counts.set(this.session, c); }
      c.set(feature, (c.get(feature) ?? 0) + 1);
    });
  }

  start(): void { this.client.start(); }
  stop(): Promise<void> { return this.client.stop(); }

  sessionOpened(index: number): void {
    this.session = index;
    if (this.connected) this.connectedIn.add(index);
  }

  sessionClosed(): void { this.session = null; }

  evidence(index: number, feature: string): ScopingEvidence {
    return { delivered: this.counts.get(index)?.get(feature) ?? 0, refusedStatus: this.refusedStatus, connected: this.connectedIn.has(index) };
  }
}

