-- wrk script: POST end-of-call reports, each for a new call id (so each is a durable insert, also when the row
-- is run again on a database that has the last run's reports: the ids carry the run's BENCH_NOW).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
local run = string.gsub(os.getenv("BENCH_NOW") or "", "%D", "")
request = function()
  n = n + 1
  local body = string.format([[{"message":{"type":"end-of-call-report","endedReason":"customer-ended-call","durationSeconds":95,
"call":{"id":"wh-%s-%s-%d","type":"inboundPhoneCall","createdAt":"%s","assistantId":"%s"},
"analysis":{"summary":"Asked about fees.","successEvaluation":"true"},
"artifact":{"transcript":"AI: Hi\nUser: Fees?","messages":[{"role":"bot","message":"Hi"},{"role":"user","message":"Fees?"}]}}}]],
    run, tostring(tid), n, os.getenv("BENCH_NOW"), os.getenv("BENCH_ASSISTANT"))
  return wrk.format("POST", "/api/webhooks/provider",
    {["Content-Type"] = "application/json", ["X-Vapi-Secret"] = os.getenv("EDMO_WEBHOOK_SECRET")}, body)
end
