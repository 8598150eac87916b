"""
The Lua scripts behind :class:`~.redis.RedisCoordinator`'s account-wide slots.

Every expiry is computed from the Redis server's ``TIME``, never a client's
clock, so hosts with skewed clocks agree. A slot is a member of the ``slots``
sorted set scored by its expiry in server milliseconds: ``r:{key}`` while its
create is being sent (a reservation, renewed by its process), then
``v:{video_id}`` until someone sees the video end. Waiters take tickets in
the ``queue`` sorted set and are admitted in ticket order (fair between
processes). Only the ``slots`` semaphore (Redis in Action 6.3) counts.
"""

from __future__ import annotations


__all__ = [
    "ACQUIRE",
    "CANCEL",
    "GATE",
    "LEADER_RELEASE",
    "LEADER_RENEW",
    "PROMOTE",
    "RATE_LIMITED",
    "RENEW",
    "SETTLE",
]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: slots, limit, gate, queue, queue_exp, ticket
# ARGV: member, lease_ms, cap
# Returns {1, 0} when admitted, {0, gate_ms} while a Retry-After holds,
# {0, -1} when the slots are full (or others queued first).
ACQUIRE = (
    _NOW
    + """
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)
for _, m in ipairs(stale) do
  redis.call('ZREM', KEYS[4], m)
  redis.call('ZREM', KEYS[5], m)
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  return {1, 0}
end
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[6]), ARGV[1])
end
redis.call('ZADD', KEYS[5], now + lease, ARGV[1])
local gate = redis.call('PTTL', KEYS[3])
if gate > 0 then return {0, gate} end
local limit = tonumber(redis.call('GET', KEYS[2]) or ARGV[3])
local free = math.floor(limit) - redis.call('ZCARD', KEYS[1])
if redis.call('ZRANK', KEYS[4], ARGV[1]) < free then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  return {1, 0}
end
return {0, -1}
"""
)

# KEYS: slots, queue_exp ; ARGV: lease_ms, member...
# Extends members still held (expired ones are purged first, never revived);
# returns the members that were lost.
RENEW = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local lost = {}
for i = 2, #ARGV do
  local m = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], m) then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), m)
  elseif redis.call('ZSCORE', KEYS[2], m) then
    redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[1]), m)
  else
    lost[#lost + 1] = m
  end
end
return lost
"""
)

# KEYS: slots, inflight, result ; ARGV: r-member, video_id, video_lease_ms,
# owner, inflight channel. The reservation becomes the video's slot, unless
# its result is already known (a webhook beat the create's answer).
PROMOTE = (
    _NOW
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), 'v:' .. ARGV[2])
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[4]) == 1 then
  redis.call('PUBLISH', ARGV[5], ARGV[2])
end
return 1
"""
)

# KEYS: slots, queue, queue_exp ; ARGV: member, freed channel
CANCEL = """
local n = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if n == 1 then redis.call('PUBLISH', ARGV[2], ARGV[1]) end
return n
"""

# KEYS: slots, limit, inflight, result ; ARGV: video_id, video json,
# result_ttl_ms, cap, settled channel, freed channel.
# The result key is written first, then published: a waiter that subscribes
# late reads the key. Freeing the slot raises the shared limit (AIMD).
SETTLE = """
local first = redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[3], 'NX')
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('ZREM', KEYS[1], 'v:' .. ARGV[1]) == 1 then
  local cap = tonumber(ARGV[4])
  local limit = tonumber(redis.call('GET', KEYS[2]) or ARGV[4])
  if limit < cap then
    redis.call('SET', KEYS[2], tostring(math.min(cap, limit + 1 / limit)))
  end
  redis.call('PUBLISH', ARGV[6], ARGV[1])
end
if first then redis.call('PUBLISH', ARGV[5], ARGV[2]) end
return first and 1 or 0
"""

# KEYS: slots, limit, gate ; ARGV: member, retry_after_ms, cap, gate channel
# A 429 on create: give the reservation back, lower the shared limit to the
# videos HeyGen has accepted (or halve it), hold everyone for Retry-After.
RATE_LIMITED = """
redis.call('ZREM', KEYS[1], ARGV[1])
local accepted = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, 2) == 'v:' then accepted = accepted + 1 end
end
local limit = tonumber(redis.call('GET', KEYS[2]) or ARGV[3])
if accepted > 0 then limit = math.min(limit, accepted) else limit = limit / 2 end
limit = math.max(1, limit)
redis.call('SET', KEYS[2], tostring(limit))
local ms = tonumber(ARGV[2])
if ms > 0 and redis.call('PTTL', KEYS[3]) < ms then
  redis.call('SET', KEYS[3], '1', 'PX', ms)
  redis.call('PUBLISH', ARGV[4], ARGV[2])
end
return tostring(limit)
"""

# KEYS: gate ; ARGV: ms, gate channel. A Retry-After seen on any request.
GATE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 1
end
return 0
"""

# KEYS: leader ; ARGV: token, ttl_ms. Take or keep the poller's lock.
LEADER_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS: leader ; ARGV: token. Step down only if still the holder.
LEADER_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
