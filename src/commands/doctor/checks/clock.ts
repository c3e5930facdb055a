import { formatDuration } from '../../../output/format.js';
import { check, type Check } from '../types.js';
import type { WsObservation } from './ws.js';

/** Past this, staleness and interval numbers are visibly bent; past FAIL they are meaningless. */
const WARN_MS = 1_000;
const FAIL_MS = 5_000;
/** Past this, the timestamp is not a clock reading at all (0, seconds read as ms, a bar's date). */
const ABSURD_MS = 24 * 3_600_000;

const ID = 'clock';
const TITLE = 'clock skew';

/**
 * Check 6. Each sample is (backend timestamp - arrival here), which is the skew minus the
 * message's age and the network delay: the largest sample is the closest to the truth.
 */
export function checkClock(ws: WsObservation | null, speed: number): Check {
  if (speed !== 1) {
    return check('clock', ID, TITLE, 'skip', `not comparable at --speed ${speed}: a rehearsal backend's timestamps run ${speed}× faster than this clock`);
  }
  const hb = ws?.clock.heartbeat ?? null;
  const skew = hb ?? ws?.clock.payload ?? null;
  if (skew === null) return check('clock', ID, TITLE, 'skip', 'no backend timestamps seen (no heartbeat or timestamped payload)');
  const source = hb !== null ? 'heartbeat timestamp' : 'payload timestamps';
  const abs = Math.abs(skew);
  if (abs > ABSURD_MS) {
    const read = new Date(Date.now() + skew);
    const when = Number.isNaN(read.getTime()) ? 'out of range' : read.toISOString();
    return check('clock', ID, TITLE, 'fail', `${source} reads ${when}, ${Math.round(abs / 86_400_000).toLocaleString('en-US')} days ${skew >= 0 ? 'ahead of' : 'behind'} this clock: not a clock reading, no skew measured`,
      "PROTOCOL.md section 3: a heartbeat's timestamp is the backend's current UTC time (ISO 8601, or ms since the epoch); fix the sender, not the clock");
  }
  const measured = `backend ${skew >= 0 ? 'ahead' : 'behind'} by ${formatDuration(abs)} (${source}, ${ws!.clock.samples} sample${ws!.clock.samples === 1 ? '' : 's'}, network delay included)`;
  if (abs <= WARN_MS) return check('clock', ID, TITLE, 'pass', measured);
  const hint = 'sync both clocks (chrony, systemd-timesyncd, NTP): the skew shifts every staleness number and the timestamps parity matches on';
  return check('clock', ID, TITLE, abs <= FAIL_MS ? 'warn' : 'fail', measured, hint);
}
