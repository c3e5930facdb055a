/**
 * Python module names <-> files of a checkout, as far as the file list tells: `ActAndPos.urls`
 * is `ActAndPos/urls.py` or `ActAndPos/urls/__init__.py`, under the tree's root or under a
 * source folder (`backend/ActAndPos/urls.py`) when the project does not sit at the root.
 */
const SIMPLE_MODULE_PATH = /^(?:[A-Za-z_][A-Za-z0-9_]*\/)*[A-Za-z_][A-Za-z0-9_]*\.py$/;

export class ModuleIndex {
  /** Dotted name relative to the tree root -> file; several when source roots repeat a name. */
  private readonly byFull = new Map<string, string>();
  private readonly dupes = new Map<string, string[]>();
  /** Last component -> dotted names ending in it (for projects below the root). */
  private readonly byLast = new Map<string, string[]>();
  private built = false;

  /** Built on the first lookup: a tree whose code never needs one pays nothing for its size. */
  constructor(private readonly files: Iterable<string>) {}

  private build(): void {
    this.built = true;
    for (const f of this.files) {
      if (!f.endsWith('.py')) continue;
      const mod = ModuleIndex.moduleOf(f);
      if (!mod) continue;
      // A module file wins over a package of the same name (as Python decides for a/b.py vs a/b/).
      const had = this.byFull.get(mod);
      if (had !== undefined) {
        if (f.endsWith('__init__.py') && !had.endsWith('__init__.py')) continue;
        if (!(had.endsWith('__init__.py') && !f.endsWith('__init__.py'))) {
          const list = this.dupes.get(mod) ?? [had];
          list.push(f);
          this.dupes.set(mod, list);
          continue;
        }
      }
      this.byFull.set(mod, f);
      const last = mod.slice(mod.lastIndexOf('.') + 1);
      const list = this.byLast.get(last);
      if (list) list.push(mod); else this.byLast.set(last, [mod]);
    }
  }

  /** `a/b/c.py` -> `a.b.c`; `a/b/__init__.py` -> `a.b`; null when not a Python module path. */
  static moduleOf(file: string): string | null {
    // The common case in one test: every folder and the file name an identifier.
    if (SIMPLE_MODULE_PATH.test(file)) {
      const p = file.slice(0, -3);
      if (p === '__init__') return null;
      return (p.endsWith('/__init__') ? p.slice(0, -9) : p).replace(/\//g, '.');
    }
    let p = file.replace(/\\/g, '/').replace(/\.py$/, '');
    if (p.endsWith('/__init__')) p = p.slice(0, -'/__init__'.length);
    else if (p === '__init__') return null;
    const parts = p.split('/');
    if (!parts.every((x) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(x))) {
      // Folders that are not identifiers (a `backend-v2/` root) cannot be in a module path:
      // keep the identifier tail, the part an import can name.
      let k = parts.length;
      while (k > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(parts[k - 1]!)) k--;
      if (k === parts.length) return null;
      return parts.slice(k).join('.');
    }
    return parts.join('.');
  }

  /** The package a file's relative imports start from (`a/b/c.py` -> `a.b`). */
  static packageOf(file: string): string {
    const mod = ModuleIndex.moduleOf(file) ?? '';
    if (file.endsWith('__init__.py')) return mod;
    return mod.includes('.') ? mod.slice(0, mod.lastIndexOf('.')) : '';
  }

  /** A relative module (`.views`, `..core.urls`) made absolute from the importing file. */
  static absolute(module: string, fromFile: string | null): string {
    if (!module.startsWith('.')) return module;
    const dots = /^\.+/.exec(module)![0].length;
    let pkg = fromFile ? ModuleIndex.packageOf(fromFile).split('.').filter(Boolean) : [];
    pkg = pkg.slice(0, Math.max(0, pkg.length - (dots - 1)));
    const rest = module.slice(dots);
    return [...pkg, ...(rest ? [rest] : [])].join('.');
  }

  /**
   * The file of a module, or null. Relative names resolve from `fromFile`; an absolute name
   * not at the root is looked for under a source folder, nearest to `fromFile` first.
   */
  resolve(module: string, fromFile: string | null = null): string | null {
    if (!this.built) this.build();
    const abs = ModuleIndex.absolute(module, fromFile);
    if (!abs) return null;
    const direct = this.byFull.get(abs);
    const same = this.dupes.get(abs);
    if (same && fromFile) return nearest(same, fromFile);
    if (direct) return direct;
    if (module.startsWith('.') && fromFile) {
      // The importing file's own module path may have been cut at a non-identifier folder.
      const dir = fromFile.slice(0, fromFile.lastIndexOf('/') + 1);
      return this.byFull.get(ModuleIndex.moduleOf(`${dir}${module.replace(/^\.+/, '').split('.').join('/')}.py`) ?? '') ?? null;
    }
    const last = abs.slice(abs.lastIndexOf('.') + 1);
    const matches = (this.byLast.get(last) ?? []).filter((m) => m.endsWith(`.${abs}`));
    if (matches.length === 0) return null;
    if (matches.length === 1 || !fromFile) return this.byFull.get(matches.sort((a, b) => a.length - b.length)[0]!)!;
    return nearest(matches.map((m) => this.byFull.get(m)!), fromFile);
  }
}

/** Several source roots: the file sharing the longest folder prefix with the importer. */
function nearest(files: string[], fromFile: string): string {
  const score = (f: string) => { let k = 0; while (k < f.length && f[k] === fromFile[k]) k++; return k; };
  return [...files].sort((a, b) => score(b) - score(a) || a.length - b.length)[0]!;
}
