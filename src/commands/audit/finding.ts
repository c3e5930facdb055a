import type { Kind } from './patterns.js';

/**
 * The shape a finding takes in the code; a verdict uses it (a view is gone only when its
 * `def` is gone, not when a comment about it is).
 * - timer: `class` (the job class), `register` (a registry.register(...) call or decorator),
 *   `import`, `reference` (anything else: instantiation, string, comment)
 * - view: `def`, `import`, `reference` (`views.name`)
 * - route: `url-entry` (a urls.py entry: route string or the view it maps), `string`
 * - client: `call` (fetch, axios, a helper or an HTTP library called with the path),
 *   `constant` (a URL constant holding it), `reference` (a use of that constant), `string`
 * - pattern: `match`
 */
export type Form = 'class' | 'register' | 'import' | 'reference' | 'def' | 'url-entry' | 'string' | 'call' | 'constant' | 'match';

/** Where a urls.py entry leads, as the URL configs resolve it. */
export interface RouteInfo {
  /** The path it resolves to (`/api/actandpos/positions`). */
  path: string;
  /** True when the chain of include()s reaches the root urlconf (the path is the full path). */
  mounted: boolean;
  /** The view it names (`positions_view`), and where that is defined (file:line), when found. */
  view: string | null;
  viewAt: string | null;
}

/** Another kind that matched the same line (reported once, under the strongest kind). */
export interface AlsoMatched {
  kind: Kind;
  form: Form;
  term: string;
}

export interface Finding {
  feature: string;
  kind: Kind;
  form: Form;
  /** What matched, in the config's spelling (a pattern's source for kind pattern). */
  term: string;
  path: string;
  /** 1-based; the line and column of the match (for a call: where the call starts). */
  line: number;
  column: number;
  /** The lines shown for it: a multi-line call, or a view with its decorators. */
  startLine: number;
  endLine: number;
  lines: string[];
  /** Why the line is allowed (config allow list or inline marker), or null. */
  allowedBy: string | null;
  /** In documentation (.md, .rst, .txt, .adoc, docs/): a mention, failing only with --docs. */
  doc: boolean;
  /** Other kinds that matched this line. */
  also: AlsoMatched[];
  /** A urls.py entry: where it leads. */
  route?: RouteInfo;
  context?: { before: string[]; after: string[] };
}

/** A resolved urls.py entry that is a feature's route, for the file it is in. */
export interface RouteHit {
  feature: string;
  /** 1-based lines and column of the entry. */
  line: number;
  column: number;
  endLine: number;
  term: string;
  route: RouteInfo;
}
