import { describe, expect, it } from 'vitest';
import { MarketSessions } from '../src/stream/sessions.js';

const usa = (status: string) => ({ market_id: 1, country: 'USA', status, seconds_to_next_event: 1 });

describe('market sessions across a reconnect (PROTOCOL.md section 5)', () => {
  it('a session that opened while the socket was away is counted, marked as opened in the gap', () => {
    const s = new MarketSessions('USA');
    s.onStatus(usa('CLOSED'), 1_000);
    s.onReconnect(); // dropped while CLOSED; the market opened during the gap
    const change = s.onStatus(usa('OPEN'), 5_000);
    expect(change).toMatchObject({ kind: 'open', session: { partial: false, index: 1, openedInGap: true } });
    s.onStatus(usa('CLOSED'), 9_000);
    expect(s.completed()).toBe(1);
    // the next one is seen from its start: not marked
    expect(s.onStatus(usa('OPEN'), 12_000)?.session.openedInGap).toBeUndefined();
    s.onStatus(usa('CLOSED'), 20_000);
    expect(s.completed()).toBe(2);
  });

  it('partial means joined after the open: only the session under way at connect', () => {
    const s = new MarketSessions('USA');
    expect(s.onStatus(usa('OPEN'), 0)).toMatchObject({ kind: 'open', session: { partial: true, index: 0 } });
    s.onReconnect(); // inside the open session: it stays partial, nothing new opens
    expect(s.onStatus(usa('OPEN'), 1_000)).toBeNull();
    s.onStatus(usa('CLOSED'), 2_000);
    expect(s.completed()).toBe(0);
  });

  it('a reconnect inside an open session keeps that session (its gap counts against it)', () => {
    const s = new MarketSessions('USA');
    s.onStatus(usa('CLOSED'), 0);
    s.onStatus(usa('OPEN'), 1_000);
    s.onReconnect();
    expect(s.onStatus(usa('OPEN'), 2_000)).toBeNull();
    expect(s.onStatus(usa('CLOSED'), 3_000)).toMatchObject({ kind: 'close', session: { partial: false, index: 1 } });
    expect(s.completed()).toBe(1);
  });
});
