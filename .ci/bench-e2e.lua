-- wrk script of the end-to-end benchmark (.ci/bench-e2e; BENCHMARKS.md).
--
--   wrk -s .ci/bench-e2e.lua http://127.0.0.1:3900 -- <path> <file> [<file2>]
--
-- Each file holds pre-signed deliveries written by the bench_deliveries
-- example, one a line: signature, event, timestamp, body (tab-separated).
-- Every request is formatted once, in init; request() only hands them out in
-- turn. With two files the requests alternate between them, so exactly half
-- come from each (genuine and forged). done() prints one RESULT line for the
-- script to read: latencies in microseconds.

local requests = {}
local counter = 0

local function load(path, file)
   local list = {}
   for line in io.lines(file) do
      local sig, event, ts, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      if sig then
         list[#list + 1] = wrk.format("POST", path, {
            ["Host"] = wrk.host,
            ["User-Agent"] = "Go-http-client/1.1",
            ["Content-Type"] = "application/json",
            ["X-Bedrud-Signature"] = sig,
            ["X-Bedrud-Event"] = event,
            ["X-Bedrud-Timestamp"] = ts,
         }, body)
      end
   end
   if #list == 0 then
      error("no deliveries in " .. file)
   end
   return list
end

function init(args)
   local path = args[1]
   local first = load(path, args[2])
   if args[3] then
      local second = load(path, args[3])
      for i = 1, math.min(#first, #second) do
         requests[#requests + 1] = first[i]
         requests[#requests + 1] = second[i]
      end
   else
      requests = first
   end
end

function request()
   counter = counter % #requests + 1
   return requests[counter]
end

function done(summary, latency, _)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect + e.read + e.write + e.timeout))
end
