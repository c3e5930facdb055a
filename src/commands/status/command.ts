import type { Command } from 'commander';
import { action, jsonOption, type Register } from '../register.js';

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('status')
    .description('the cutover state of every feature, from the store (the runbook\'s status screen)')
    .addHelpText('after', `
Examples:
  $ thor-cutover status
  $ thor-cutover status --json | jq '.features[] | select(.enabled)'
  $ thor-cutover status --redis rediss://:secret@redis.internal:6380`);
  jsonOption(cmd, 'the status');
  cmd.action(action(io, setExit, async (ctx) => {
    const { runStatus } = await import('./run.js');
    const { printStatus } = await import('./render.js');
    const report = await runStatus(ctx);
    printStatus(ctx.out, report);
    return 0;
  }));
};
