-- wrk script: pages of 100 of the catalog or of a tag list, from a random place, on a store made by scripts/gen-store.py.
-- PAGE=catalog: /v2/_catalog?n=100&last=gen/rNNNNNNN, NNNNNNN random below REPOS.
-- PAGE=tags:    /v2/gen/tags/tags/list?n=100&last=tNNNNNNN, NNNNNNN random below TAGS.
local kind = os.getenv("PAGE") or "catalog"
local repos = tonumber(os.getenv("REPOS") or "1000000")
local tags = tonumber(os.getenv("TAGS") or "100000")

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local path
  if kind == "tags" then
    path = string.format("/v2/gen/tags/tags/list?n=100&last=t%07d", math.random(0, tags - 1))
  else
    path = string.format("/v2/_catalog?n=100&last=gen/r%07d", math.random(0, repos - 1))
  end
  return wrk.format("GET", path)
end

local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200: %d\n", bad))
end
