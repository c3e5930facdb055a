// Polls positions every 10 s until the WebSocket feed replaces it.
import { store } from '../store';

const POSITIONS_URL = '/api/positions/';

export function startPositionsPoller(): () => void {
  const timer = setInterval(async () => {
    const res = await fetch(POSITIONS_URL, { credentials: 'include' });
    if (res.ok) store.setPositions(await res.json());
  }, 10_000);
  return () => clearInterval(timer);
}
