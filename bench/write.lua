-- wrk script for a write endpoint: BENCH_METHOD with BENCH_BODY, where %N becomes a number unique to this
-- run (so creates never collide). The cookie comes from wrk's -H.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
request = function()
  n = n + 1
  local unique = string.format("%d%03d%06d", tid, os.time() % 1000, n)
  local body = string.gsub(os.getenv("BENCH_BODY"), "%%N", unique)
  -- wrk.format takes the headers it is given, not -H's: copy those (the session cookie) in.
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format(os.getenv("BENCH_METHOD"), nil, headers, body)
end
