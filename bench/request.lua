-- wrk request script: METHOD, BODY and TOKEN come from the environment.
wrk.method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
if body and #body > 0 then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local token = os.getenv("TOKEN")
if token and #token > 0 then
  wrk.headers["Authorization"] = "Bearer " .. token
end
