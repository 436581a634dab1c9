-- wrk script: GETs of manifests and blobs in repositories that do not exist (random names, never repeated).
local hex = "0123456789abcdef"

local function random_hex(n)
  local t = {}
  for i = 1, n do
    local k = math.random(1, 16)
    t[i] = hex:sub(k, k)
  end
  return table.concat(t)
end

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed or os.time())
end

local n = 0
request = function()
  n = n + 1
  local repo = "storm/" .. random_hex(12) .. "/" .. random_hex(8)
  if n % 3 == 0 then
    return wrk.format("GET", "/v2/" .. repo .. "/blobs/sha256:" .. random_hex(64))
  end
  return wrk.format("GET", "/v2/" .. repo .. "/manifests/" .. random_hex(10))
end

local unexpected = 0
response = function(status, headers, body)
  if status ~= 404 and status ~= 401 then unexpected = unexpected + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("unexpected statuses: %d\n", unexpected))
end
