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
 * Every command registers its options here; its logic is imported lazily inside the
 * action, so `status` never loads ws, undici or the analysis engine.
 */
export const COMMANDS: Register[] = [status, enable, disable, history, simulate, audit, init, verify, monitor, gate, parity, doctor, demo];
