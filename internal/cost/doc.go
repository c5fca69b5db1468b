// Package cost compares a closed API with self-hosting for a token volume: the monthly cost each
// way, the daily volume at which self-hosting breaks even, and how many months owned hardware
// takes to pay for itself. It is pure arithmetic with every assumption echoed back (Assumptions):
// a month is 730 hours (30.42 days), a node's capacity is its sustained output throughput, and
// enough nodes are priced to carry the volume (never fewer than self_host.nodes).
//
// # Worked example: owned hardware pays back within months
//
// 20M input and 5M output tokens a day; the API charges $2.50 and $10.00 per million; one owned
// node costs $12,000 up front and $400 a month to run and sustains 1,500 output tokens/s.
//
//	API a day            = 20 x 2.50 + 5 x 10.00                 = $100.00
//	monthly_api_usd      = 100 x 730 / 24                        = $3,041.67
//	node capacity        = 1,500 x 86,400                        = 129,600,000 output tokens a day
//	nodes                = max(1, ceil(5M / 129.6M))             = 1
//	capacity_utilisation = 5M / 129.6M                           = 0.0386
//	monthly_self_host    = 1 x $400                              = $400.00 -> cheaper = "self_host"
//	payback_months       = 12,000 / (3,041.67 - 400)             = 4.54
//	breakeven            = 400 / ($4 per million x 30.4167 days) = 3,287,672 tokens a day
//	per million output   = API 3,041.67 / 152.08M = $20.00, self-hosted 400 / 152.08M = $2.6301
//
// # Worked example: the API stays cheaper
//
// 2M input and 0.5M output tokens a day at $0.15 and $0.60 per million, against a rented node at
// $1.861 an hour that sustains 400 output tokens/s.
//
//	monthly_api_usd      = (2 x 0.15 + 0.5 x 0.60) x 30.4167     = $18.25
//	monthly_self_host    = 1.861 x 730                           = $1,358.53 -> cheaper = "api"
//	capacity_utilisation = 0.5M / 34.56M                         = 0.0145
//	breakeven            = never: a fully used node carries 34.56M output (172.8M tokens in this mix)
//	                       a day, which the API bills 172.8M x $0.24 per million x 30.4167 = $1,261.44
//	                       a month, less than the node's $1,358.53
//	per million output   = API 18.25 / 15.21M = $1.20, self-hosted 1,358.53 / 15.21M = $89.328
//
// At 1,000 tokens/s the same node breaks even at 1,358.53 / ($0.24 per million x 30.4167)
// = 186,100,000 tokens a day.
package cost
