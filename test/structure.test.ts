import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';

/**
 * The code the next engineer can change safely (ARCHITECTURE.md): no file in src/ over 400
 * lines, no function over 80, no import cycle, no command folder importing another or
 * cli.ts, and every command folder with command.ts, run.ts and render.ts.
 */
describe('the structure rules (scripts/structure.mjs)', () => {
  it('hold for src/', async () => {
    const { checkStructure } = await import('../scripts/structure.mjs');
    expect(checkStructure(ROOT).map((p) => `${p.file}:${p.line}: ${p.rule}: ${p.message}`)).toEqual([]);
  });
});
