-- wrk script: failed logins, each for a new unknown email (so no account lock applies and each one costs a
-- dummy argon2id hash, as a flood against many accounts would), wrong password. Prints the count of each
-- status code at the end ("status counts: 401:120 503:80").
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local n = 0
codes = {}
request = function()
  n = n + 1
  local body = string.format('{"email":"flood-%d-%d@bench.edu","password":"wrong-password"}', tid, n)
  return wrk.format("POST", "/api/auth/login", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

done = function(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("codes")) do total[code] = (total[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(total) do table.insert(parts, code .. ":" .. count) end
  table.sort(parts)
  io.write("status counts: " .. table.concat(parts, " ") .. "\n")
end
