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
export type Kind = 'timer' | 'view' | 'route' | 'client' | 'pattern';
export const KINDS: readonly Kind[] = ['timer', 'view', 'route', 'client', 'pattern'];
/** A line matched by several kinds is reported once, under the first of these. */
export const KIND_STRENGTH: readonly Kind[] = ['timer', 'route', 'view', 'client', 'pattern'];

/** Word characters as git grep -w sees them. */
const W = 'A-Za-z0-9_';

export interface FeatureMatcher {
  name: string;
  /** Job class names, whole word. */
  jobs: RegExp | null;
  /** View function names, whole word (classified structurally: a bare word is not a view). */
  views: RegExp | null;
  /**
   * Views found by following the feature's routes (lower-case name -> the file that defines
   * it, when found): a def of that name elsewhere is another function.
   */
  discovered: Map<string, string | null>;
  /** The feature's REST paths (config routes and restPath), slashes trimmed. */
  paths: string[];
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
 * Where it starts is checked by routeStartsPath (a lookbehind cannot say "after a host").
 */
function routeRegExp(routes: string[], flags: string): RegExp | null {
  const cores = routes.map(trimSlashes).filter((r) => r !== '');
  if (cores.length === 0) return null;
  return new RegExp(`/?(?:${cores.map(escapeRegExp).join('|')})/?(?![${W}/-])`, flags);
}

/**
 * A route string is the feature's path only when nothing path-like comes before it: the
 * start of a string or a line, a template's `${BASE}`, or a scheme and host
 * (`http://thor:8000/api/positions/`). `/v2/api/positions/` and `accounts/api/positions/` are
 * other paths.
 */
export function routeStartsPath(text: string, index: number): boolean {
  if (index === 0) return true;
  const c = text[index - 1]!;
  if (/[\s'"`(=,+\[{}>$^]/.test(c)) return true;
  if (c === '/' || c === '.' || c === '-') return false;
  return /(?:^|[^\w/])(?:[a-z][a-z0-9+.-]*:)?\/\/[^\s'"`/]+$/i.test(text.slice(Math.max(0, index - 200), index));
}

/** Every place the feature's route is a path of its own in a line. */
export function routeHits(re: RegExp | null, text: string): RegExpExecArray[] {
  if (!re) return [];
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (routeStartsPath(text, m.index)) out.push(m);
    if (m[0] === '') re.lastIndex++;
  }
  return out;
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

/** The feature's REST paths: its config routes and its restPath, slashes trimmed, no duplicates. */
export function featurePaths(f: FeatureConfig): string[] {
  return [...new Set([...f.legacy.routes, f.restPath].map(trimSlashes).filter((r) => r !== ''))];
}

/**
 * @param discovered per feature, the views its routes name (found by reading the URL configs),
 * with the file that defines each (null when not found).
 */
export function buildMatcher(features: readonly FeatureConfig[], kinds: ReadonlySet<Kind>, ignoreCase: boolean, discovered: ReadonlyMap<string, ReadonlyMap<string, string | null>> = new Map()): Matcher {
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
    const found = new Map<string, string | null>();
    for (const [name, file] of discovered.get(f.name) ?? []) {
      if (!f.legacy.views.some((v) => v.toLowerCase() === name.toLowerCase())) found.set(name.toLowerCase(), file);
    }
    const views = wantViews ? [...f.legacy.views, ...[...discovered.get(f.name)?.keys() ?? []].filter((n) => found.has(n.toLowerCase()))] : [];
    const routes = kinds.has('route') || kinds.has('client') ? featurePaths(f) : [];
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
      discovered: found,
      paths: featurePaths(f),
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
