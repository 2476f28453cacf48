-- Shared by every script of benchmarks/http_load.py: one JSON line at the end of a run,
-- prefixed "WRK_RESULT ", that the benchmark parses (latencies in microseconds).
-- `non_2xx_3xx` is wrk's count of responses with a status of 400 or more.

function report(summary, latency, extra)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx_3xx":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
      .. '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f%s}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, extra or ""))
end

function done(summary, latency, requests)
  report(summary, latency, "")
end
