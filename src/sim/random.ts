/**
 * A small seeded PRNG (mulberry32): the same --seed gives the same prices, so a rehearsal
 * that found a problem can be run again. Each consumer (a symbol, the account, the fault
 * dice) gets a stream of its own, derived from the seed and a name, so the order in which
 * timers happen to fire does not change what any one stream draws.
 */
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a: turns a stream name into a number to mix into the seed. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function streamFor(seed: number, name: string): Random {
  return mulberry32((seed ^ hashName(name)) >>> 0);
}

/** A standard normal draw (Box-Muller), for price steps. */
export function gaussian(rnd: Random): number {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}
