-- wrk script: replay a file of pre-signed Cs-* requests (from `sova-load --emit N`), each exactly once.
-- Usage: wrk -t1 -c64 -d5s -s bench/cs_hmac.lua URL -- ACCESS_KEY PASSPHRASE FILE
-- With no FILE, it sends one fixed request (GET of the URL's path with the given header) through the same Lua
-- path, so a baseline pays the same per-request scripting cost:  -- HEADER VALUE
local reqs = {}
local i = 0

function init(args)
  if args[3] then
    local ak, pass = args[1], args[2]
    for line in io.lines(args[3]) do
      local target, ts, sig = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
      reqs[#reqs + 1] = wrk.format("GET", target, {
        ["Cs-Access-Key"] = ak, ["Cs-Signature"] = sig, ["Cs-Timestamp"] = ts, ["Cs-Passphrase"] = pass,
      })
    end
  else
    local headers = {}
    if args[1] then headers[args[1]] = args[2] end
    reqs[1] = wrk.format("GET", wrk.path, headers)
  end
end

function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
