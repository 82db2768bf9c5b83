-- wrk script for scripts/bench-catalogue: a mix of catalogue requests with filters, sorts,
-- searches and follow-up pages through the cursor of the previous response.
local paths = {
  "/api/v1/catalogue/packages",
  "/api/v1/catalogue/packages?category=e_payment_pos",
  "/api/v1/catalogue/packages?sector=retail&sort=price_asc",
  "/api/v1/catalogue/packages?category=crm_loyalty&sector=food_and_beverage",
  "/api/v1/catalogue/packages?min_price=20000&max_price=60000&sort=price_desc",
  "/api/v1/catalogue/packages?q=pos",
  "/api/v1/catalogue/packages?q=%E6%94%B6%E9%8A%80",            -- 收銀
  "/api/v1/catalogue/packages?q=%E6%9C%83%E5%93%A1%20%E7%A9%8D%E5%88%86",  -- 會員 積分
  "/api/v1/catalogue/packages?sort=newest&limit=50",
}
local counter = 0
local next_path = nil

request = function()
  counter = counter + 1
  local path
  if next_path ~= nil and counter % 3 == 0 then
    path = next_path
  else
    path = paths[(counter % #paths) + 1]
  end
  next_path = nil
  return wrk.format("GET", path)
end

-- wrk shares one Lua state among a thread's connections, so the response seen here may answer
-- another request than the one just made: the follow-up page takes its base from the cursor's
-- own sort, which the cursor names after its last '|' (base64url of "v1:<key>|<sort>").
local follow = {
  newest = "/api/v1/catalogue/packages",
  price_asc = "/api/v1/catalogue/packages?sector=retail&sort=price_asc",
  price_desc = "/api/v1/catalogue/packages?min_price=20000&max_price=60000&sort=price_desc",
  relevance = "/api/v1/catalogue/packages?q=pos",
}

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function base64url_decode(text)
  local bits, out = "", {}
  for i = 1, #text do
    local v = string.find(alphabet, string.sub(text, i, i), 1, true)
    if v == nil then return nil end
    v = v - 1
    for b = 5, 0, -1 do
      bits = bits .. (math.floor(v / 2 ^ b) % 2)
    end
  end
  for i = 1, #bits - 7, 8 do
    out[#out + 1] = string.char(tonumber(string.sub(bits, i, i + 7), 2))
  end
  return table.concat(out)
end

response = function(status, headers, body)
  local cursor = body and string.match(body, '"next_cursor":"([^"]+)"')
  if cursor ~= nil then
    local key = base64url_decode(cursor)
    local sort = key and string.match(key, "|([%w_]+)$")
    local base = sort and follow[sort]
    if base ~= nil then
      local sep = string.find(base, "?", 1, true) and "&" or "?"
      next_path = base .. sep .. "cursor=" .. cursor
    end
  end
end
