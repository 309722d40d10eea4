-- wrk script: POST one built-in-engine chat turn (a new conversation each time).
-- BENCH_ASSISTANT and BENCH_COOKIE come from bench/run.sh.
local questions = {
  "When is the application deadline for topic 17?",
  "How much does the course on topic 4242 cost?",
  "Where can I find the schedule for topic 9001?",
  "Who do I contact about topic 123?",
}
local i = 0
request = function()
  i = i + 1
  local q = questions[(i % #questions) + 1]
  local body = string.format('{"assistantId":"%s","message":"%s"}', os.getenv("BENCH_ASSISTANT"), q)
  return wrk.format("POST", "/api/chat", {["Content-Type"] = "application/json", ["Cookie"] = os.getenv("BENCH_COOKIE")}, body)
end
