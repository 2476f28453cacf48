-- One fixed request, repeated: method, JSON body and bearer token from the environment
-- (WRK_METHOD, WRK_BODY, WRK_AUTHORIZATION), so wrk builds it once per thread.
dofile(os.getenv("WRK_SCRIPTS_DIR") .. "/report.lua")

wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local authorization = os.getenv("WRK_AUTHORIZATION") or ""
if authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
