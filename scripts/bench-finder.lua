-- wrk script for scripts/bench-finder: POST /api/v1/solution-finder with a rotation of needs,
-- sectors, budgets and preferences over the benchmark catalogue.
local bodies = {
  '{"sector":"food_and_beverage","needs":["e_payment_pos","crm_loyalty","online_marketing"],"budget":"60000.00"}',
  '{"sector":"retail","needs":["e_payment_pos","online_marketing","crm_loyalty"],"budget":"45000.00"}',
  '{"sector":"food_and_beverage","needs":["crm_loyalty","e_payment_pos"],"budget":"20000.00","language":"zh"}',
  '{"sector":"retail","needs":["online_marketing","crm_loyalty","e_payment_pos"],"budget":"150000.00"}',
  '{"sector":"retail","needs":["e_payment_pos","crm_loyalty"],"budget":"30000.00","prefer":"one_off"}',
  '{"sector":"food_and_beverage","needs":["online_marketing","crm_loyalty"],"budget":"25000.00","prefer":"subscription","max_monthly":"1500.00"}',
  '{"sector":"retail","needs":["crm_loyalty","online_marketing","e_payment_pos"],"budget":"8000.00"}',
}
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/solution-finder", {["Content-Type"] = "application/json"},
    bodies[(counter % #bodies) + 1])
end
