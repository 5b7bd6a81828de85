-- bench/wrk-report.lua: wrk's summary as one JSON line (prefixed WRKJSON)
-- for bench/run.  wrk's own text report has no p99.9 and rounds its
-- figures; this gives them from wrk's histogram, in microseconds.

-- percentiles spaced evenly in "nines" (0, 20.6, 36.9, ... 99.99), as
-- bench/loadgen prints them, so the two tools' CDFs plot alike
local function cdf(latency)
   local out = {}
   for i = 0, 40 do
      local p = 100 * (1 - 10 ^ (-i / 10))
      out[#out + 1] = string.format("[%.4f, %d]", p, latency:percentile(p))
   end
   return "[" .. table.concat(out, ", ") .. "]"
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "p50": %d, "p90": %d, ' ..
      '"p99": %d, "p99_9": %d, "max": %d}, "cdf": %s}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.stdev, latency:percentile(50),
      latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      latency.max, cdf(latency)))
end
