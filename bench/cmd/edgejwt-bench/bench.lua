-- wrk script of edgejwt-bench. Every setup and workload is driven through it,
-- so the load generator does the same work in every run.
--
-- Arguments (after wrk's "--"): a file of tokens, one per line, and the number
-- of wrk threads. Each request carries the next token of the file in
-- "Authorization: Bearer <token>"; after the last token it starts again at the
-- first. A line "<token> <proof>" (setups (p), (p2)) is sent as
-- "Authorization: DPoP <token>" with "DPoP: <proof>". A file with one token is the repeated-token workload; a file with one
-- token per expected request is the fresh-token workload. The requests are
-- formatted once, in init, so request() only picks one.
--
-- done() prints one line, "BENCHJSON {...}", that edgejwt-bench parses.

local tid = 0
local next_tid = 0
local reqs = {}
local n = 0
local i = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  local path = args[1]
  local threads = tonumber(args[2]) or 1
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      local tok, proof = line:match("^(%S+) (%S+)$")
      if tok then
        reqs[n] = wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. tok, ["DPoP"] = proof })
      else
        reqs[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. line })
      end
    end
  end
  f:close()
  assert(n > 0, "no token in " .. path)
  -- Threads start at different places in the file, so that with several
  -- threads tokens are still not repeated before the file is used up.
  i = math.floor(tid * n / threads)
end

function request()
  i = i + 1
  if i > n then
    i = 1
  end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_p999_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
