import type { Writable } from '../../io.js';
import { formatDuration, printJson, type Output } from '../../output/format.js';
import type { DemoEvents, DemoReport } from './run.js';

/** Another command's output, indented, so the demo reads as one transcript. */
function indented(target: Writable): Writable & { flush(): void } {
  let pending = '';
  return {
    write(chunk: string) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) target.write(`    ${line}\n`);
      return true;
    },
    flush() {
      if (pending) target.write(`    ${pending}\n`);
      pending = '';
    },
  };
}

/** The transcript as it happens (nothing of it with --json: the steps' outcomes come at the end). */
export function demoPrinter(out: Output): DemoEvents {
  const s = out.style;
  const json = out.format === 'json';
  const w = (line = '') => { if (!json) out.io.stdout.write(line + '\n'); };
  return {
    started(d) {
      w(s.bold('thor-cutover demo: the WebSocket cutover runbook, rehearsed end to end'));
      w(s.dim(`working in a copy of the sample backend: ${d.sampleDir}`));
      w(s.dim(`simulator on ${d.simUrl} at ${d.speed}x speed (sessions ${d.sessionOpen} open / ${d.sessionClosed} closed, rehearsal time); flags in ${d.store}${d.prefix ? ` under ${d.prefix}` : ''}`));
    },
    step(n, of, step, command) {
      w();
      w(`${s.bold(`── ${n}/${of} ${step.title}`)}`);
      w(s.dim(`   ${step.why}`));
      w(`   $ ${command}`);
    },
    stepOutput: () => indented(json ? { write: () => true } : out.io.stdout),
    stepDone(o) {
      w(o.ok
        ? `   ${s.ok(s.glyph.pass)} exit ${o.exitCode}, as expected ${s.dim(`(${formatDuration(o.ms)})`)}`
        : `   ${s.bad(s.glyph.fail)} exit ${o.exitCode}, expected ${o.expected}`);
    },
    warn: (text) => out.io.stderr.write(`warning: ${text}\n`),
  };
}

/** The end: passed (and where the HTML report is), the step that failed, or interrupted; returns the exit code. */
export function printDemo(out: Output, r: DemoReport): number {
  const s = out.style;
  const io = out.io;
  if (out.format === 'json') {
    printJson(out, 'demo', { ok: r.ok, steps: r.steps, report: r.report, seconds: r.seconds });
    return r.exitCode;
  }
  io.stdout.write('\n');
  if (r.ok) {
    io.stdout.write(s.ok(`${s.glyph.pass} demo passed: ${r.steps.length} steps behaved as expected in ${formatDuration(r.seconds * 1000)}`) + '\n');
    if (r.report) io.stdout.write(`the drift step's HTML report (charts, each mismatch's diff): ${r.report}\n`);
    io.stdout.write('next: point it at your backend: thor-cutover doctor --url http://thor:8000   (see README, "Quickstart")\n');
  } else if (r.failed) {
    io.stderr.write(`error: demo step ${r.failed.n} "${r.failed.title}" exited ${r.failed.exitCode}, expected ${r.failed.expected}\n`);
    io.stderr.write(`hint: rerun it alone: ${r.failed.command}\n`);
  } else if (r.interrupted) {
    io.stderr.write('demo interrupted\n');
  }
  return r.exitCode;
}
