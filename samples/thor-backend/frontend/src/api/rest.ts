// REST polling, kept as the fallback while a feature's flag is off.
const BASE = import.meta.env.VITE_API_URL ?? '';

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${BASE}${path}`, { credentials: 'include' });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

export const pollAccountBalance = () => getJson('/api/account/balance/');
export const pollPositions = () => getJson('/api/positions/');
export const pollIntradayBars = () => getJson('/api/intraday/bars/');
export const pollMarketStatus = () => getJson('/api/market/status/');
