-- wrk script: create with POST (BENCH_CREATE_PATH, BENCH_BODY with %N made unique), then DELETE what was
-- created (BENCH_DELETE_PREFIX .. id), alternately. The cookie comes from wrk's -H.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local created = {}
local n = 0

local function headers()
  local h = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do h[name] = value end
  return h
end

request = function()
  local id = table.remove(created)
  if id then
    return wrk.format("DELETE", os.getenv("BENCH_DELETE_PREFIX") .. id, headers())
  end
  n = n + 1
  local body = string.gsub(os.getenv("BENCH_BODY"), "%%N", string.format("%d%03d%06d", tid, os.time() % 1000, n))
  return wrk.format("POST", os.getenv("BENCH_CREATE_PATH"), headers(), body)
end

response = function(status, _, body)
  if status == 201 then
    local id = string.match(body, '"id":"([^"]+)"')
    if id then table.insert(created, id) end
  end
end
