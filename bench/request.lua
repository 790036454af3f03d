-- wrk request script: METHOD, BODY and TOKEN come from the environment.
-- BODY2, when set, alternates with BODY: each connection's thread sends BODY, BODY2, BODY, ...
-- (two orders of one page, so that every sort really moves tasks).
-- TOKENS (comma-separated) instead gives each wrk thread its own token, in order; run wrk with
-- as many threads as connections (-tN -cN) and each connection sends as a different user.
wrk.method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
if body and #body > 0 then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local token = os.getenv("TOKEN")
if token and #token > 0 then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local tokens = {}
for t in string.gmatch(os.getenv("TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = t
end
local threads = 0

-- Runs in wrk's main Lua state, once per thread before it starts.
function setup(thread)
  if #tokens > 0 then
    threads = threads + 1
    thread:set("thread_token", tokens[(threads - 1) % #tokens + 1])
  end
end

-- Runs in the thread's own Lua state, after setup.
function init(args)
  if thread_token then
    wrk.headers["Authorization"] = "Bearer " .. thread_token
  end
end

local body2 = os.getenv("BODY2")
if body2 and #body2 > 0 then
  local sent = 0
  function request()
    sent = sent + 1
    return wrk.format(nil, nil, nil, (sent % 2 == 1) and body or body2)
  end
end
