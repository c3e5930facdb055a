/**
 * One flag change, atomically: guard, HSET, INCR, XADD, PUBLISH.
 *
 * KEYS[1]  <prefix>:flags   (hash)
 * KEYS[2]  <prefix>:rev     (string counter)
 * KEYS[3]  <prefix>:audit   (stream)
 * KEYS[4]  <prefix>:verify:<previous feature> (list): the verify gate's evidence, when ARGV[11] is "guard"
 * ARGV[1]  feature
 * ARGV[2]  target value, "true" or "false"
 * ARGV[3]  actor
 * ARGV[4]  reason
 * ARGV[5]  at (ISO 8601)
 * ARGV[6]  forced, "true" or "false"
 * ARGV[7]  events channel (a pub/sub channel, not a key)
 * ARGV[8]  the feature's env fallback, "true" or "false" (effective value when the hash has no field)
 * ARGV[9]  audit MAXLEN (approximate)
 * ARGV[10] n, the number of features that must be on (ignored unless enabling and not forced)
 * ARGV[11] "guard" or "" : the verify gate was judged on the evidence below
 * ARGV[12] the rev the gate was judged at
 * ARGV[13] the newest verify record of the previous feature as it was read ("" : none)
 * ARGV[14..13+2n]  pairs: feature name, its env fallback
 *
 * Returns:
 *   {"changed", previous, rev, auditId}
 *   {"noop", current, rev}                 the hash already holds the target (read as the backend reads it)
 *   {"refused", blocker, blocker, ...}     features earlier in the order that are still off
 *   {"stale"}                              the gate's evidence changed since it was judged: judge again
 *
 * The verify gate is judged in TypeScript (it reads the records and the audit stream the way
 * `gate` does), then made part of this atomic change by compare-and-set: the write goes
 * through only if no flag changed since (the rev; a disable and re-enable of the previous
 * feature moves it) and the previous feature's newest verify record is still the one judged.
 */
export const CHANGE_COMMAND = 'thorCutoverChangeV2';

export const CHANGE_SCRIPT = `
-- The effective-value rule of PROTOCOL.md, exactly as src/store/effective.ts applies it:
-- the hash field (trimmed, any case) if it exists, else the env fallback.
local function effective(v, fallback)
  if v then
    if string.lower(string.match(v, '^%s*(.-)%s*$')) == 'true' then return 'true' end
    return 'false'
  end
  return fallback
end

local feature = ARGV[1]
local target = ARGV[2]
local current = redis.call('HGET', KEYS[1], feature)
local previous = effective(current, ARGV[8])

-- "Enabling what is already on changes nothing". Only the hash counts here: without a field
-- the backend falls back to ITS env var, which this tool cannot see, so writing the value
-- is the only way to be sure the backend follows it (the change "pins" the flag).
if current and previous == target then
  return {'noop', previous, tonumber(redis.call('GET', KEYS[2]) or '0')}
end

if ARGV[11] == 'guard' then
  if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[12]) or (redis.call('LINDEX', KEYS[4], 0) or '') ~= ARGV[13] then
    return {'stale'}
  end
end

if target == 'true' and ARGV[6] ~= 'true' then
  local n = tonumber(ARGV[10])
  local blockers = {}
  for i = 0, n - 1 do
    local name = ARGV[14 + 2 * i]
    local fallback = ARGV[15 + 2 * i]
    if effective(redis.call('HGET', KEYS[1], name), fallback) ~= 'true' then
      table.insert(blockers, name)
    end
  end
  if #blockers > 0 then
    table.insert(blockers, 1, 'refused')
    return blockers
  end
end

redis.call('HSET', KEYS[1], feature, target)
local rev = redis.call('INCR', KEYS[2])
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[9], '*',
  'feature', feature, 'from', previous, 'to', target, 'actor', ARGV[3], 'reason', ARGV[4],
  'rev', tostring(rev), 'at', ARGV[5], 'forced', ARGV[6])
redis.call('PUBLISH', ARGV[7], cjson.encode({
  feature = feature, enabled = (target == 'true'), previous = (previous == 'true'),
  actor = ARGV[3], reason = ARGV[4], rev = rev, at = ARGV[5]
}))
return {'changed', previous, rev, id}
`;
