-- wrk script: POST a contacts page query with an API key.
-- Env: KEY (bearer API key), QUERY (the GraphQL document, JSON-escaped already).
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
wrk.body = '{"query":"' .. os.getenv("QUERY") .. '"}'

local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\":%d,\"duration_us\":%d,\"rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f," ..
    "\"errors\":%d}\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end
