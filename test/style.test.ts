import { describe, expect, it } from 'vitest';
import { makeStyle } from '../src/output/style.js';

// The colours are ANSI SGR codes written by src/output/style.ts (no chalk: five styles are a
// few lines). What a terminal must get: the text wrapped, nested styles restored, no style
// running past a line end; and with colour off, the text untouched.
const ESC = '\x1b[';

describe('output style', () => {
  it('wraps text in the open and close code of its style', () => {
    const s = makeStyle(true);
    expect(s.ok('pass')).toBe(`${ESC}32mpass${ESC}39m`);
    expect(s.bad('fail')).toBe(`${ESC}31mfail${ESC}39m`);
    expect(s.warn('warn')).toBe(`${ESC}33mwarn${ESC}39m`);
    expect(s.dim('note')).toBe(`${ESC}2mnote${ESC}22m`);
    expect(s.bold('head')).toBe(`${ESC}1mhead${ESC}22m`);
  });

  it('a nested style of the same kind gives the outer one back after it', () => {
    const s = makeStyle(true);
    expect(s.warn(`a ${s.bad('b')} c`)).toBe(`${ESC}33ma ${ESC}31mb${ESC}39m${ESC}33m c${ESC}39m`);
    expect(s.bold(`x ${s.dim('y')} z`)).toBe(`${ESC}1mx ${ESC}2my${ESC}22m${ESC}1m z${ESC}22m`);
  });

  it('closes at each line end and opens again on the next line', () => {
    const s = makeStyle(true);
    expect(s.bad('one\ntwo')).toBe(`${ESC}31mone${ESC}39m\n${ESC}31mtwo${ESC}39m`);
  });

  it('with colour off, every style returns the text as it is', () => {
    const s = makeStyle(false);
    for (const f of [s.ok, s.bad, s.warn, s.dim, s.bold]) expect(f('a\nb')).toBe('a\nb');
    expect(s.color).toBe(false);
  });
});
