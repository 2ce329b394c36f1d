-- Cycles through pre-encrypted WeCom AI-bot callbacks, one file line per request:
--   <path with query>\t<JSON body>
-- wrk -s wecom_requests.lua URL -- FILE THREADS [DELAY_MS LIMIT]
-- Each thread takes every THREADS-th line, so no two threads send the same msgid.
-- With DELAY_MS each connection waits that long between requests; with LIMIT the run
-- stops after LIMIT responses in total (a paced burst rather than saturation).

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local reqs = {}
local idx = 0
local delay_ms = 0
local limit = 0
local answered = 0
local nthreads = 1

function init(args)
  nthreads = tonumber(args[2])
  delay_ms = tonumber(args[3] or "0")
  limit = tonumber(args[4] or "0")
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == id then
      local path, body = line:match("([^\t]+)\t(.*)")
      reqs[#reqs + 1] = wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
    end
    n = n + 1
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = (wrapped or 0) + 1
  end
  return reqs[idx]
end

if true then
  function delay()
    return delay_ms
  end
end

function response(status, headers, body)
  answered = answered + 1
  if limit > 0 and answered >= limit / nthreads then
    wrk.thread:stop()
  end
end
