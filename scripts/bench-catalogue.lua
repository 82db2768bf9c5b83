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

response = function(status, headers, body)
  local cursor = body and string.match(body, '"next_cursor":"([^"]+)"')
  if cursor ~= nil then
    -- Follow the page that was just served, with its filters kept.
    local base = paths[(counter % #paths) + 1]
    local sep = string.find(base, "?", 1, true) and "&" or "?"
    next_path = base .. sep .. "cursor=" .. cursor
  end
end
