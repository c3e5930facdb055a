import type { Register } from './register.js';
import { register as status } from './status/command.js';
import { register as simulate } from './simulate/command.js';
import { register as enable } from './enable/command.js';
import { register as disable } from './disable/command.js';
import { register as history } from './history/command.js';
import { register as audit } from './audit/command.js';
import { register as doctor } from './doctor/command.js';
import { register as verify } from './verify/command.js';
import { register as gate } from './gate/command.js';
import { register as monitor } from './monitor/command.js';
import { register as parity } from './parity/command.js';
import { register as demo } from './demo/command.js';
import { register as init } from './init/command.js';

/**
 * Every command registers its options here, under the name it is called by; its logic is
 * imported lazily inside the action, so `status` never loads ws, undici or the engine.
 * The order is the order of `--help`.
 */
export const COMMANDS: ReadonlyMap<string, Register> = new Map([
  ['status', status], ['enable', enable], ['disable', disable], ['history', history], ['simulate', simulate],
  ['audit', audit], ['init', init], ['verify', verify], ['monitor', monitor], ['gate', gate], ['parity', parity],
  ['doctor', doctor], ['demo', demo],
]);

/** Global options that take a value: the word after them is not the command's name. */
const VALUED_GLOBALS = new Set(['-c', '--config', '--redis', '--prefix']);

/**
 * The commands a command line needs registered: only the one it names (start-up, issue 18),
 * or every one when it names none or a word that is not a command (help, a misspelling that
 * commander answers with "did you mean").
 */
export function commandsFor(argv: readonly string[]): Register[] {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (VALUED_GLOBALS.has(word)) { i += 1; continue; }
    if (word.startsWith('-')) continue;
    const one = COMMANDS.get(word);
    return one ? [one] : [...COMMANDS.values()];
  }
  return [...COMMANDS.values()];
}
