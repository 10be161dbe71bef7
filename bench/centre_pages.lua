-- wrk script for bench/bench_centre.py --generator wrk: GETs round-robin over the privacy
-- centre's pages (each thread its own turn), then p50/p95/p99 and the errors, one per line.
local paths = {"/privacy", "/privacy/request", "/privacy/policy", "/privacy/preferences"}
local n = 0

request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk requests %d seconds %.3f\n", summary.requests, summary.duration / 1e6))
  io.write(string.format("wrk errors status %d connect %d read %d write %d timeout %d\n",
    e.status, e.connect, e.read, e.write, e.timeout))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("wrk p%d %.2f\n", p, latency:percentile(p) / 1000))
  end
end
