-- wrk script: a crowd taking places in the waiting room as JSON clients do. Each connection asks for a challenge
-- (GET /attesa/stato without a ticket), then redeems it (POST /attesa/biglietto with nonce 0, which solves a
-- challenge of no bits: the bench's room asks for no work), and starts again. Each thread stops once it holds its
-- share of the tickets: TICKETS=1000000 wrk -t THREADS -s tickets.lua URL -- THREADS
local challenge = wrk.format("GET", "/attesa/stato", { ["Accept"] = "application/json" })
local redeem = { ["Accept"] = "application/json", ["Content-Type"] = "application/json" }
local threads = {}
local pending = {}
tickets, admitted, refused, share = 0, 0, 0, 0

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local total = tonumber(os.getenv("TICKETS")) or 1000000
    local count = tonumber(args[1]) or 1
    share = math.ceil(total / count)
end

function request()
    local token = table.remove(pending)
    if token then
        return wrk.format("POST", "/attesa/biglietto", redeem, '{"token":"' .. token .. '","nonce":0}')
    end
    return challenge
end

function response(status, headers, body)
    local token = body:match('"challenge":{"token":"([^"]+)"')
    if token then
        table.insert(pending, token)
    elseif status == 200 and body:find('"ticket":"', 1, true) then
        tickets = tickets + 1
        if tickets >= share then wrk.thread:stop() end
    elseif status == 200 and body:find('"pass":"', 1, true) then
        admitted = admitted + 1
    else
        refused = refused + 1
    end
end

function done(summary, latency, requests)
    local taken, passes, refusals = 0, 0, 0
    for _, thread in ipairs(threads) do
        taken = taken + thread:get("tickets")
        passes = passes + thread:get("admitted")
        refusals = refusals + thread:get("refused")
    end
    io.write(string.format("tickets %d admitted %d refused %d seconds %.3f requests %d\n",
        taken, passes, refusals, summary.duration / 1e6, summary.requests))
end
