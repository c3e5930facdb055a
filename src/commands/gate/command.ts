import type { Command } from 'commander';
import { makeOutput } from '../../output/format.js';
import { type Register, action, intArg } from '../register.js';

export const register: Register = (program: Command, io, setExit) => {
  program
    .command('gate <feature>')
    .description('the CI step: do the recorded sessions of a feature, since it was last enabled, pass? answers at once')
    .option('--sessions <n>', 'how many of the most recent sessions must have passed (default: verify.requiredSessions, 1)', intArg('--sessions', 1))
    .option('--junit <file>', 'write JUnit XML: one testcase per checklist item per session')
    .option('--json [file]', 'the verdict as one JSON document (with schemaVersion): to FILE, or to stdout without one')
    .addHelpText('after', `
It reads the sessions recorded in Redis by \`thor-cutover verify\` (one record per run,
carrying each session it judged) since the feature was last enabled, and judges the most
recent N of them; it watches nothing. \`enable\` of the next feature reads them the same way.

Exit codes:
  0  the last N sessions passed
  1  one of them failed (which, and why), or the feature is off
  2  could not run (Redis, config, usage)
  3  fewer than N sessions recorded since the enable, or one of them could not be judged

Examples:
  $ thor-cutover gate account_balance --sessions 2
  $ thor-cutover gate positions --junit gate.xml --json gate.json   # in CI`)
    .action(action(io, setExit, async (ctx, [feature]) => {
      const { runGate } = await import('./run.js');
      const { printGate } = await import('./render.js');
      const o = ctx.opts as { sessions?: number; junit?: string; json?: boolean | string; color?: boolean };
      const jsonFile = typeof o.json === 'string' ? o.json : undefined;
      const out = await makeOutput(ctx.io, { json: o.json === true, color: o.color });
      const report = await runGate(ctx, { feature: feature!, sessions: o.sessions ?? ctx.config.verify.requiredSessions });
      return printGate(out, report, { jsonFile, junitFile: o.junit });
    }));
};
