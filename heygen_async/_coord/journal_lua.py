"""
The journal's Lua scripts: each runs atomically inside Redis.

Every write first checks the lease (``hold``): the caller still holds the
journal if the lease holds its token, or if the lease lapsed and nobody took
the journal since (the meta hash still names it the holder), in which case
the lease is taken back. So a process that lost its journal to another can
no longer write into it.
"""

from __future__ import annotations


__all__ = ["ACQUIRE", "ADD", "LOAD", "RELEASE", "RENEW", "UPDATE"]

# The lease guard. KEYS[1] lease, KEYS[2] meta; ARGV[1] token, ARGV[2] lease ms.
_HOLD = """
local function hold()
  local current = redis.call('GET', KEYS[1])
  if current == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return true
  end
  if not current and redis.call('HGET', KEYS[2], 'holder') == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return true
  end
  return false
end
"""
_LOST = "return redis.error_reply('LEASE_LOST')"

ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'holder', ARGV[1])
return 1
"""

RENEW = _HOLD + "if hold() then return 1 end return 0"

# KEYS: lease, meta, seq, job. ARGV: token, ms, key, seq, field, value, ...
ADD = (
    _HOLD
    + "if not hold() then "
    + _LOST
    + """ end
redis.call('HSET', KEYS[4], unpack(ARGV, 5))
redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[3])
return 1
"""
)

# KEYS: lease, meta, job. ARGV: token, ms, field, value, ...
UPDATE = (
    _HOLD
    + "if not hold() then "
    + _LOST
    + """ end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('HSET', KEYS[3], unpack(ARGV, 3))
return 1
"""
)

# KEYS: job hashes. Each as a JSON object of its (JSON text) fields; the
# values are strings, so cjson only quotes them and changes no number.
LOAD = """
local rows = {}
for i, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    rows[i] = ''
  else
    local fields = {}
    for j = 1, #flat, 2 do fields[flat[j]] = flat[j + 1] end
    rows[i] = cjson.encode(fields)
  end
end
return rows
"""

# KEYS: lease, done set. ARGV: token, shard index ('' to mark nothing).
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('SADD', KEYS[2], ARGV[2]) end
redis.call('DEL', KEYS[1])
return 1
"""
