-- wrk script: manifest GET by tag over random repositories of a store made by scripts/gen-store.py.
-- REPOS (environment) is how many repositories the store holds (gen/r0000000 .. gen/rNNNNNNN).
local repos = tonumber(os.getenv("REPOS") or "1000000")
local accept = "application/vnd.oci.image.manifest.v1+json"

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local path = string.format("/v2/gen/r%07d/manifests/latest", math.random(0, repos - 1))
  return wrk.format("GET", path, { ["Accept"] = accept })
end

local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200: %d\n", bad))
end
