-- wrk script: each request a distinct citizen's submission (POST /api/v1/applications) with that citizen's bearer
-- token and a unique Idempotency-Key. Used by bench/parts/50-submissions:
--   wrk -t T -c C -d D -s bench/lua/submit.lua URL -- TOKENS_FILE THREADS
-- TOKENS_FILE has the header "codice_fiscale,token,scheme" and one line per session (`sportello bench sessions` writes it); the
-- threads share it out line by line. A thread that runs out of tokens stops and says so in the summary: a request
-- sent twice for one citizen would measure a refusal, not a submission.
-- At the end it prints one line: created=N ok=N other=N exhausted=N (201, 200 and any other status).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens, schemes = {}, {}
local next_index = 1
created, ok, other, exhausted = 0, 0, 0, 0

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  if not path or not nthreads then
    error("submit.lua needs: -- TOKENS_FILE THREADS")
  end
  local file = assert(io.open(path, "r"), "cannot open " .. path)
  local line_no = 0
  for line in file:lines() do
    line_no = line_no + 1
    if line_no > 1 and (line_no - 2) % nthreads == id then
      local token, scheme = line:match("^[^,]+,([^,]+),([^,]+)$")
      if not token then error(path .. ", line " .. line_no .. ": expected codice_fiscale,token,scheme") end
      table.insert(tokens, token)
      table.insert(schemes, scheme)
    end
  end
  file:close()
end

function request()
  local i = next_index
  if i > #tokens then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  next_index = i + 1
  local body = '{"scheme":"' .. schemes[i] .. '","payment":{"method":"iban","iban":"IT60X0542811101000000123456"},'
    .. '"contact":{"email":"cittadino@example.it"},"declarations":{"not_pension_holder":true,'
    .. '"no_other_compulsory_scheme":true,"not_employed":true,"not_reddito_di_cittadinanza":true}}'
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[i],
    ["Idempotency-Key"] = "wrk-" .. id .. "-" .. i,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/applications", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 200 then
    ok = ok + 1
  elseif exhausted == 0 then
    other = other + 1
    if other <= 3 then io.stderr:write("HTTP " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local c, o, x, e = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("ok")
    x = x + t:get("other")
    e = e + t:get("exhausted")
  end
  io.write(string.format("created=%d ok=%d other=%d exhausted=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    c, o, x, e, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
