import type { FeatureConfig } from '../../config/types.js';
import { pathSegments, type UrlMap, type UrlRoute } from '../../django/urls.js';
import type { RouteHit } from './analyze.js';
import { featurePaths } from './patterns.js';

/**
 * Which of the project's URL routes are a feature's REST path, and the views they name.
 *
 * A route reached from the root urlconf has its full path, and is the feature's only when
 * that path is the feature's path (segment by segment). A route in a urlconf nobody includes
 * (mount unknown) is the feature's when its path is the feature's path or the last two
 * segments or more of it, or when it maps one of the feature's configured view names.
 */
export interface FeatureRoutes {
  /** Per urlconf file, the entries that are a feature's route. */
  hits: Map<string, RouteHit[]>;
  /** Per feature, the views its routes name -> the file that defines each (null: not found). */
  discovered: Map<string, Map<string, string | null>>;
}

function segEq(a: string, b: string, ignoreCase: boolean): boolean {
  return ignoreCase ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function matches(route: UrlRoute, feature: FeatureConfig, ignoreCase: boolean): string | null {
  if (route.path === null) return null;
  const segs = pathSegments(route.path);
  if (segs.length === 0) return null;
  for (const p of featurePaths(feature)) {
    const want = pathSegments(p);
    if (segs.length === want.length && segs.every((s, i) => segEq(s, want[i]!, ignoreCase))) return p;
    if (!route.mounted && segs.length >= 2 && segs.length < want.length) {
      const tail = want.slice(want.length - segs.length);
      if (segs.every((s, i) => segEq(s, tail[i]!, ignoreCase))) return p;
    }
  }
  if (!route.mounted && route.view) {
    const v = route.view.name;
    if (feature.legacy.views.some((x) => segEq(x, v, ignoreCase))) return feature.legacy.routes[0] ?? feature.restPath;
  }
  return null;
}

export function featureRoutes(map: UrlMap, features: readonly FeatureConfig[], ignoreCase: boolean): FeatureRoutes {
  const hits = new Map<string, RouteHit[]>();
  const discovered = new Map<string, Map<string, string | null>>();
  for (const r of map.routes) {
    if (r.include !== null) continue;
    for (const f of features) {
      const term = matches(r, f, ignoreCase);
      if (!term) continue;
      const view = r.view;
      const list = hits.get(r.file) ?? [];
      list.push({
        feature: f.name, line: r.line, column: r.column, endLine: r.endLine, term: term.replace(/^\/+|\/+$/g, ''),
        route: { path: r.path!, mounted: r.mounted, view: view?.name ?? null, viewAt: view?.file ? `${view.file}:${view.line}` : null },
      });
      hits.set(r.file, list);
      if (view) {
        const d = discovered.get(f.name) ?? new Map<string, string | null>();
        d.set(view.name, view.file);
        discovered.set(f.name, d);
      }
    }
  }
  return { hits, discovered };
}
