import type { FeatureConfig } from '../../config/types.js';

/**
 * What the final-cleanup audit looks for, per feature, built from `legacy` in the config.
 *
 * Two layers, on purpose: git grep (or the walker's quick test) only has to find the files
 * that may hold legacy code, using plain whole-word alternatives; the structural reading of
 * those files (multi-line `registry.register(` calls, imports, urls.py entries, view
 * definitions) happens in analyze.ts. So the expensive pass is exactly the `git grep -w -i -E`
 * a user would run, and the precision comes after it, on a handful of files.
 */
export type Kind = 'timer' | 'view' | 'route' | 'pattern';
export const KINDS: readonly Kind[] = ['timer', 'view', 'route', 'pattern'];

/** Word characters as git grep -w sees them. */
const W = 'A-Za-z0-9_';

export interface FeatureMatcher {
  name: string;
  /** Job class names, whole word. */
  jobs: RegExp | null;
  /** View function names, whole word (classified structurally: a bare word is not a view). */
  views: RegExp | null;
  /** The configured routes, with an optional leading and trailing slash. */
  routes: RegExp | null;
  /**
   * Route tails of two segments or more as the first string of a urls.py entry, so an app
   * included under `api/` (`path('account/balance/', ...)`) is found too.
   */
  routeTails: RegExp | null;
  /** The user's extra regular expressions. */
  patterns: RegExp[];
  /** Config spelling of each term, keyed by its lower-case form, to report what matched. */
  canonical: Map<string, string>;
}

export interface Matcher {
  features: FeatureMatcher[];
  kinds: ReadonlySet<Kind>;
  ignoreCase: boolean;
  /** For `git grep -w -E`: identifiers and routes, ERE-escaped. */
  gitWordPatterns: string[];
  /** For `git grep -P`: the user's patterns (JavaScript regexes read as PCRE). */
  gitPerlPatterns: string[];
  /** True when a text may hold a finding; false means it certainly holds none. */
  mayMatch(text: string): boolean;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** ERE (git grep -E) escaping; `/` is not special there. */
export function escapeEre(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function wordAlternation(terms: string[], flags: string): RegExp | null {
  if (terms.length === 0) return null;
  const alt = terms.map(escapeRegExp).join('|');
  return new RegExp(`(?<![${W}])(?:${alt})(?![${W}])`, flags);
}

function trimSlashes(route: string): string {
  return route.replace(/^\^?\/+/, '').replace(/\/+\$?$/, '');
}

/**
 * A route ends where a path segment cannot continue: `api/account/balance/` is found in
 * `'/api/account/balance/'` and `r'^api/account/balance/$'`, never in `api/account/balance/summary/`.
 */
function routeRegExp(routes: string[], flags: string): RegExp | null {
  const cores = routes.map(trimSlashes).filter((r) => r !== '');
  if (cores.length === 0) return null;
  return new RegExp(`(?<![${W}-])/?(?:${cores.map(escapeRegExp).join('|')})/?(?![${W}/-])`, flags);
}

function routeTailRegExp(routes: string[], flags: string): RegExp | null {
  const tails = new Set<string>();
  for (const r of routes) {
    const segs = trimSlashes(r).split('/').filter(Boolean);
    for (let i = 1; segs.length - i >= 2; i++) tails.add(segs.slice(i).join('/'));
  }
  if (tails.size === 0) return null;
  return new RegExp(`(?<=['"]\\^?/?)(?:${[...tails].map(escapeRegExp).join('|')})/?\\$?(?=['"])`, flags);
}

export function buildMatcher(features: readonly FeatureConfig[], kinds: ReadonlySet<Kind>, ignoreCase: boolean): Matcher {
  const flags = ignoreCase ? 'gi' : 'g';
  const gitWords = new Set<string>();
  const gitPerl: string[] = [];
  const quick: string[] = [];
  const fms: FeatureMatcher[] = features.map((f) => {
    const canonical = new Map<string, string>();
    const remember = (terms: string[]) => { for (const t of terms) canonical.set(t.toLowerCase(), t); };
    // A view's urls.py entry is a route finding, so views are looked for whenever routes are.
    const wantViews = kinds.has('view') || kinds.has('route');
    const jobs = kinds.has('timer') ? f.legacy.jobs : [];
    const views = wantViews ? f.legacy.views : [];
    const routes = kinds.has('route') ? f.legacy.routes : [];
    const patterns = kinds.has('pattern') ? f.legacy.patterns : [];
    remember(jobs); remember(views); remember(routes.map(trimSlashes));
    for (const t of [...jobs, ...views]) { gitWords.add(escapeEre(t)); quick.push(escapeRegExp(t)); }
    const fmRoutes = routeRegExp(routes, flags);
    const fmTails = routeTailRegExp(routes, flags);
    for (const r of routes) {
      const core = trimSlashes(r);
      if (!core) continue;
      const segs = core.split('/');
      // The last two segments are in every form the route takes (full, or under an include).
      const tail = segs.slice(-2).join('/');
      gitWords.add(escapeEre(tail));
      quick.push(escapeRegExp(tail));
    }
    for (const p of patterns) { gitPerl.push(p); quick.push(`(?:${p})`); }
    return {
      name: f.name,
      jobs: wordAlternation(jobs, flags),
      views: wordAlternation(views, flags),
      routes: fmRoutes,
      routeTails: fmTails,
      patterns: patterns.map((p) => new RegExp(p, flags)),
      canonical,
    };
  });
  // Deliberately looser than the real matchers (no word boundaries): it only has to say no
  // quickly for the many files that hold nothing.
  const quickRe = quick.length ? new RegExp(quick.join('|'), ignoreCase ? 'i' : '') : null;
  return {
    features: fms,
    kinds,
    ignoreCase,
    gitWordPatterns: [...gitWords],
    gitPerlPatterns: gitPerl,
    mayMatch: (text) => quickRe !== null && quickRe.test(text),
  };
}
