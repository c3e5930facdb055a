import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { action, intArg, jsonOption, type Register } from '../register.js';

const KIND_NAMES = ['timer', 'view', 'route', 'client', 'pattern'] as const;

/** `--kind timer --kind view` and `--kind timer,view` both work. */
function kindList(value: string, previous: string[] = []): string[] {
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) {
    if (!(KIND_NAMES as readonly string[]).includes(k)) throw new UsageError(`--kind takes ${KIND_NAMES.join(', ')}; got "${k}"`);
  }
  return [...previous, ...kinds];
}

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('audit')
    .description('find REST timers, views and URL routes the cutover should have deleted (runbook 3.4 and phase 4)')
    .argument('[features...]', 'features to audit (default: those that are on in the store; all when it is unreachable)')
    .option('--all', 'audit every configured feature')
    .addOption(new Option('--kind <kinds>', `only these kinds: ${KIND_NAMES.join(', ')} (repeat or comma-separate)`).argParser(kindList))
    .option('--path <dir>', 'root of the backend checkout to audit', '.')
    .option('-C, --context <n>', 'lines of context around each finding', intArg('--context', 0), 0)
    .option('--no-store', 'do not read the flags: every finding counts, as in CI without Redis')
    .option('--sarif <file>', 'also write the findings as SARIF 2.1.0 (GitHub code scanning)')
    .option('--docs', 'findings in documentation fail too (default: listed as mentions; config audit.docs)')
    .option('--baseline <file>', 'fail only on findings not recorded in this baseline (written by --write-baseline)')
    .option('--write-baseline <file>', "record today's failing findings in a baseline file (this run then passes)")
    .addHelpText('after', `
What it looks for, per feature (config: features.<name>.legacy, audit):
  timer    the job classes and their registry.register(...) calls (multi-line and decorator forms)
  route    the URL routes: urls.py entries whose full path (include() prefixes followed from
           ROOT_URLCONF) is the feature's REST path, shown with the path and the view they name
  view     the REST views: the configured names and the views the routes name (def or class,
           imports of the name, views.<name>); a module path (from .positions import X) is not one
  client   frontend or script code that calls the REST path (fetch, axios, a helper, a URL
           constant and its uses)
  pattern  the config's extra regular expressions
  Names match whole words, ignoring case (audit.ignoreCase); paths match segment by segment. A
  line matched by several kinds is one finding, under the first kind above, the others noted.
  Lines about the WebSocket path are allowed only by audit.allow or an inline
  "thor-cutover: allow <why>" comment, and are counted. Findings in documentation (.md, .rst,
  .txt, .adoc, docs/) are listed as mentions and never fail, unless --docs (audit.docs: "fail").

Verdicts when the store is reachable: a feature that is on with a REST timer left is a leftover
(once every feature is on, its views and routes too); a feature that is off lists its REST code
as inventory, and a missing view or route is an error (rollback would be impossible).
In a git work tree the tracked files are searched with git grep; elsewhere a file walk that
honours .gitignore and never follows symlinks. Under GITHUB_ACTIONS=true, leftovers are also
printed as ::error annotations (not with --json).

Exit codes: 0 clean, 1 leftovers or rollback problems, 2 usage / not a directory / git failure / bad baseline,
3 no leftovers found but the scan was partial (a limit cut it short), 130 interrupted.

Examples:
  $ thor-cutover audit --path ../thor-backend
  $ thor-cutover audit account_balance --kind timer        # step 3.4: is its REST timer gone?
  $ thor-cutover audit --all                               # phase 4: nothing of the REST path may remain
  $ thor-cutover audit --all --json > audit.json
  $ thor-cutover audit --all --no-store --sarif audit.sarif
  $ thor-cutover audit --all --no-store --write-baseline audit-baseline.json   # once, committed
  $ thor-cutover audit --all --no-store --baseline audit-baseline.json         # CI: only new leftovers fail

A baseline keys each finding by file, kind and the line's text (whitespace normalised), not by
line number: edits elsewhere in a file keep it valid; a new or copied leftover fails.`);
  jsonOption(cmd, 'the report');
  cmd.action(action(io, setExit, async (ctx, names) => {
    const { runAudit } = await import('./run.js');
    const { printAudit } = await import('./render.js');
    const o = ctx.opts as { all?: boolean; kind?: string[]; path: string; context: number; store: boolean; sarif?: string; docs?: boolean; baseline?: string; writeBaseline?: string };
    const report = await runAudit(ctx, {
      names, all: Boolean(o.all), kinds: (o.kind ?? []) as (typeof KIND_NAMES)[number][],
      path: o.path, context: o.context, useStore: o.store,
      docs: Boolean(o.docs), baseline: o.baseline, writeBaseline: o.writeBaseline,
    });
    if (o.sarif) {
      const { writeSarif } = await import('./sarif.js');
      await writeSarif(ctx.io, o.sarif, report);
    }
    const annotate = ctx.io.env.GITHUB_ACTIONS === 'true';
    printAudit(ctx.out, report, { annotateBase: annotate ? (ctx.io.env.GITHUB_WORKSPACE || ctx.io.cwd) : null });
    return report.exitCode;
  }));
};
