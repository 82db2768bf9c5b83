-- wrk script for scripts/bench-applications: each request applies for a fresh SME on its own
-- confirmed enquiry, read from the applicants file (one "token,enquiry_id" line per SME).
-- Thread k of n takes lines k, k+n, k+2n, ... so no applicant is used twice.
local counter = 0
local threads = {}

function setup(thread)
    thread:set("index", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    applicants = {}
    for line in io.lines(os.getenv("APPLICANTS")) do
        local token, enquiry = line:match("([^,]+),(.+)")
        table.insert(applicants, {token, enquiry})
    end
    step = tonumber(os.getenv("THREADS") or "2")
    next_line = index + 1
end

function request()
    local a = applicants[next_line]
    next_line = next_line + step
    if a == nil then
        return wrk.format("GET", "/healthz")
    end
    return wrk.format("POST", "/api/v1/sme/applications", {
        ["Authorization"] = "Bearer " .. a[1],
        ["Content-Type"] = "application/json",
    }, '{"enquiry_id":"' .. a[2] .. '"}')
end

function response(status, headers, body)
    if status ~= 201 then
        errors = (errors or 0) + 1
    end
end
