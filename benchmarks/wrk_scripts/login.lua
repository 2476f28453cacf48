-- The login flood: POST /api/v1/auth/login (one argon2id verify each) with a correct
-- password, cycling over the accounts in WRK_LOGIN_EMAILS, each request with its own
-- X-Forwarded-For address (uvicorn trusts it from 127.0.0.1: FORWARDED_ALLOW_IPS), so
-- that no per-IP limit applies either. The benchmark runs the server with the login
-- limits off (TRADEBOT_AUTH_RATE_LIMITS=off); `status_429` counts answers limited anyway.
dofile(os.getenv("WRK_SCRIPTS_DIR") .. "/report.lua")

local emails = {}
for email in string.gmatch(os.getenv("WRK_LOGIN_EMAILS") or "", "[^,]+") do
  emails[#emails + 1] = email
end
local password = os.getenv("WRK_LOGIN_PASSWORD") or ""
local thread_count = tonumber(os.getenv("WRK_THREADS") or "1")

local threads = {}
local next_index = 0

function setup(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
  table.insert(threads, thread)
end

local sent = 0
limited = 0

function request()
  -- consecutive numbers across threads: every email gets about the same share
  local n = sent * thread_count + thread_index
  sent = sent + 1
  local email = emails[(n % #emails) + 1]
  local address = string.format(
    "10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  local body = string.format(
    '{"email":"%s","password":"%s","remember_me":false}', email, password)
  return wrk.format("POST", "/api/v1/auth/login", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = address,
  }, body)
end

function response(status, headers, body)
  if status == 429 then
    limited = limited + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("limited") or 0)
  end
  report(summary, latency, string.format(',"status_429":%d', total))
end
