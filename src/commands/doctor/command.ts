import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { type Register, action, backendOptions, durationArg, jsonOption, positiveNumber } from '../register.js';

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('doctor')
    .description('the runbook\'s debugging section as one command: config, Redis, REST, WebSocket, flags, clocks')
    .option('--timeout <duration>', 'bound for the whole run (default: two of the longest interval + 2s, within 3s..2m)', durationArg('--timeout'))
    .option('--speed <n>', 'divide every interval by n (a rehearsal backend: `simulate --speed n`)', positiveNumber('--speed'), 1)
    .addHelpText('after', `
Checks: config · Redis (reachable, round trip, key layout, env vs Redis) · REST (each
feature's endpoint) · WebSocket (handshake, each message type within two intervals,
other traffic, heartbeat, ping/pong) · the backend's flags against Redis · clock skew.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 could not run.

Examples:
  $ thor-cutover doctor --url http://thor:8000 --token "$TOKEN"
  $ thor-cutover doctor --json | jq '.checks[] | select(.status == "fail")'
  $ thor-cutover doctor --url http://127.0.0.1:8000 --speed 10     # against simulate --speed 10`);
  backendOptions(cmd);
  jsonOption(cmd, 'every check');
  cmd.action(action(io, setExit, async (ctx) => {
    const { runDoctor } = await import('./run.js');
    const { printDoctor, printDoctorStart } = await import('./render.js');
    const report = await runDoctor(ctx, { timeoutMs: ctx.opts.timeout as number | undefined, speed: ctx.opts.speed as number }, {
      started: (ms) => printDoctorStart(ctx.out, ms),
    });
    printDoctor(ctx.out, report);
    if (report.interrupted) return ExitCode.INTERRUPTED;
    return report.summary.fail > 0 ? ExitCode.FAILED : ExitCode.OK;
  }));
};
