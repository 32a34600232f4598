-- wrk script: each request a distinct citizen's login (POST /api/v1/sessions) with the simplified PIN issued for
-- them. Used by bench/parts/51-logins:
--   wrk -t T -c C -d D -s bench/lua/login.lua URL -- PINS_FILE THREADS
-- PINS_FILE is what `sportello pin issue` writes (codice_fiscale,pin,simplified_pin); the threads share it out line
-- by line. A thread that runs out of citizens stops and says so: a second login of one citizen is not what is
-- measured. At the end it prints one line: created=N other=N exhausted=N seconds=S p50_ms=… p99_ms=…

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local bodies = {}
local next_index = 1
created, other, exhausted = 0, 0, 0

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  if not path or not nthreads then
    error("login.lua needs: -- PINS_FILE THREADS")
  end
  local file = assert(io.open(path, "r"), "cannot open " .. path)
  local line_no = 0
  for line in file:lines() do
    line_no = line_no + 1
    if line_no > 1 and (line_no - 2) % nthreads == id then
      local cf, simplified = line:match("^([^,]+),[^,]+,([^,]+)$")
      if not cf then error(path .. ", line " .. line_no .. ": expected codice_fiscale,pin,simplified_pin") end
      table.insert(bodies, '{"codice_fiscale":"' .. cf .. '","pin":"' .. simplified .. '"}')
    end
  end
  file:close()
end

function request()
  local i = next_index
  if i > #bodies then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  next_index = i + 1
  return wrk.format("POST", "/api/v1/sessions", { ["Content-Type"] = "application/json" }, bodies[i])
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif exhausted == 0 then
    other = other + 1
    if other <= 3 then io.stderr:write("HTTP " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local c, x, e = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    x = x + t:get("other")
    e = e + t:get("exhausted")
  end
  io.write(string.format("created=%d other=%d exhausted=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    c, x, e, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
