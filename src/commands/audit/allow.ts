import ignore, { type Ignore } from 'ignore';
import type { AuditConfig } from '../../config/types.js';

/**
 * Which lines are legitimately about the WebSocket path. Nothing else is excluded: the
 * runbook's `grep -v "WebSocket"` dropped every line that merely mentioned the word, leftover
 * or not. Here a line is allowed only by the config's allow list or by the inline marker
 * on its own line, and every allowed line is counted in the report with its reason.
 */
export interface Allower {
  /** The reason a whole file is allowed (config entry with a path and no line), or null. */
  file(relPath: string): string | null;
  /** The reason one line (of a file) is allowed, or null. */
  line(relPath: string, text: string): string | null;
}

interface Entry {
  path: Ignore | null;
  line: RegExp | null;
  reason: string;
}

export function makeAllower(audit: AuditConfig): Allower {
  const entries: Entry[] = audit.allow.map((a) => ({
    // gitignore syntax for paths: the same rules a user already knows from .gitignore.
    path: a.path ? ignore().add(a.path) : null,
    line: a.line ? new RegExp(a.line, audit.ignoreCase ? 'i' : '') : null,
    reason: a.reason,
  }));
  const marker = audit.marker.toLowerCase();
  return {
    file(relPath) {
      for (const e of entries) if (e.path && !e.line && e.path.ignores(relPath)) return `${e.reason} (allow: path)`;
      return null;
    },
    line(relPath, text) {
      const at = text.toLowerCase().indexOf(marker);
      if (at >= 0) {
        const why = text.slice(at + marker.length).replace(/^[\s:\-–—(]+/, '').replace(/[\s)*/>-]+$/, '').trim();
        return `inline marker${why ? `: ${why}` : ''}`;
      }
      for (const e of entries) {
        if (e.path && !e.path.ignores(relPath)) continue;
        if (e.line && !e.line.test(text)) continue;
        return `${e.reason} (allow: ${[e.path ? 'path' : '', e.line ? 'line' : ''].filter(Boolean).join('+')})`;
      }
      return null;
    },
  };
}
