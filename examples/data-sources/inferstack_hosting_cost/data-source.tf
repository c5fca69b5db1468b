# When does self-hosting win? Owned hardware against a closed API for 25M tokens a day.
data "inferstack_hosting_cost" "owned" {
  input_tokens_per_day  = 20000000
  output_tokens_per_day = 5000000
  api = {
    input_usd_per_million  = 2.50
    output_usd_per_million = 10.00
  }
  self_host = {
    monthly_opex_usd  = 400   # per node: power, space, support
    upfront_usd       = 12000 # per node: purchase price, for payback_months
    nodes             = 1
    tokens_per_second = 1500 # sustained output throughput of one node
  }
}

# A rented node against a cheap API at a small volume.
data "inferstack_hosting_cost" "rented" {
  input_tokens_per_day  = 2000000
  output_tokens_per_day = 500000
  api = {
    input_usd_per_million  = 0.15
    output_usd_per_million = 0.60
  }
  self_host = {
    hourly_usd        = 1.861 # per node
    tokens_per_second = 400
  }
}

output "owned" {
  value = {
    cheaper                  = data.inferstack_hosting_cost.owned.cheaper                  # "self_host"
    monthly_api_usd          = data.inferstack_hosting_cost.owned.monthly_api_usd          # 3041.67
    monthly_self_host_usd    = data.inferstack_hosting_cost.owned.monthly_self_host_usd    # 400
    payback_months           = data.inferstack_hosting_cost.owned.payback_months           # 4.54
    breakeven_tokens_per_day = data.inferstack_hosting_cost.owned.breakeven_tokens_per_day # 3287672
  }
}

output "rented_cheaper" {
  value = data.inferstack_hosting_cost.rented.cheaper # "api"
}
