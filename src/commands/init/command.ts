import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { action, jsonOption, type Register } from '../register.js';

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((x) => x.trim()).filter(Boolean)];
}

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('init')
    .description("write the cutover config from the backend's own code (Django + Channels, read statically), or --check it")
    .option('--path <dir>', 'root of the Django project (the folder with manage.py)', '.')
    .option('--out <file>', 'config file to write (default: the loaded config, else ./thor-cutover.config.json)')
    .option('--dry-run', 'show the config it would write; write nothing')
    .option('--force', 'take the code\'s value where the config file already sets another (default: merge, keep the file\'s)')
    .option('--explain', 'say where every value comes from (file:line), confirmed ones included')
    .option('--check', 'CI step: exit 1 when the config no longer matches the code or the code is inconsistent with itself')
    .option('--client-driven <types>', 'consumer handler types the client sends (not broadcast): --check does not ask for a sender (also: backend.clientDriven in the config)', list)
    .option('--sarif <file>', 'with --check: also write the problems as SARIF 2.1.0')
    .addHelpText('after', `
What it reads (no import, no execution of the project):
  REST paths   the URL configs from ROOT_URLCONF through include(), and the view each route names
  WS types     what the code sends: group_send(..., {"type": ...}) (through helpers and constants),
               the message dicts it builds, and the consumer's handler methods (a.b -> a_b)
  REST timers  registry.register(Job(...), interval=N) and @registry.register(interval=N)
  fields       dict literals, DRF serializers (Meta.fields) and dataclasses (asdict): requiredFields, fieldMap
Each value is matched to a configured feature (the runbook's four unless the config says
otherwise); a value the config already has is confirmed; a different one is written with its
source (--explain); anything ambiguous is asked as a question, never guessed. An existing config
is merged: keys it sets are kept unless --force.

--check fails (exit 1, file:line each) on: a broadcast type with no consumer handler (Channels
closes the socket with 1011), a handler nothing sends (unless --client-driven or the config's
backend.clientDriven), a feature whose REST route or WS type the code does not have, a renamed
field the fieldMap does not map, a REST field the WS payload never carries, a REST timer
interval the config does not expect.

Exit codes: 0 written / consistent (or nothing to find), 1 --check found problems,
2 not a directory, not a Django project, a config that is not JSON.

Examples:
  $ thor-cutover init --path ../thor-backend --dry-run --explain
  $ thor-cutover init --path ../thor-backend
  $ thor-cutover init --path ../thor-backend --check --sarif init.sarif`);
  jsonOption(cmd, 'the report');
  cmd.action(action(io, setExit, async (ctx) => {
    const { runInit } = await import('./run.js');
    const { printInit } = await import('./render.js');
    const o = ctx.opts as { path: string; out?: string; dryRun?: boolean; force?: boolean; explain?: boolean; check?: boolean; clientDriven?: string[]; sarif?: string };
    if (o.sarif && !o.check) throw new UsageError('--sarif goes with --check (it writes the problems --check finds)', 'thor-cutover init --check --sarif init.sarif');
    if (o.check && (o.dryRun || o.force || o.out)) throw new UsageError('--check writes nothing: give it without --dry-run, --force or --out', 'thor-cutover init --check');
    const report = await runInit(ctx, {
      path: o.path, out: o.out, dryRun: Boolean(o.dryRun), force: Boolean(o.force), check: Boolean(o.check), clientDriven: o.clientDriven ?? [],
    });
    if (o.sarif && report.mode === 'check') {
      const { writeInitSarif } = await import('./render.js');
      await writeInitSarif(ctx.io, o.sarif, report);
    }
    printInit(ctx.out, report, { explain: Boolean(o.explain) });
    return report.exitCode;
  }));
};
