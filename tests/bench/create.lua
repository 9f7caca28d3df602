-- wrk: POST creates through the gateway, each a fresh VM name and its own
-- Idempotency-Key (a retry would be one create), as the administrator ($TOKEN).
local next_thread = 0
function setup (thread)
  thread:set ("id", next_thread)
  next_thread = next_thread + 1
end

local count = 0
local token = os.getenv ("TOKEN")
function request ()
  count = count + 1
  local name = string.format ("g%d-%d", id, count)
  return wrk.format ("POST", "/api/v1/vis/default/vms",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
      ["Idempotency-Key"] = name },
    '{"name": "' .. name .. '", "template": "tiny"}')
end

-- The first refusal's status and body, said once at the end (a bench that is refused
-- measures nothing).
local refused = nil
function response (status, headers, body)
  if status ~= 202 and not refused then
    refused = status .. " " .. body
    io.stderr:write ("create refused: " .. refused .. "\n")
  end
end
