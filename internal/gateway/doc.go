// Package gateway is the provider's model of an LLM gateway (LiteLLM): the routes that
// inferstack_api_route manages, the LiteLLM deployments a route turns into, their validation, and
// the Gateway interface that a gateway client (package gateway/litellm) implements.
//
// A Route is one public model name clients send as "model". It points either at self-hosted vLLM
// (one or more OpenAI-compatible base URLs, the served model name and vLLM's API key) or at a
// closed API (openai, anthropic, azure_openai, bedrock). A route becomes one LiteLLM deployment
// per target URL, all under the same model name, so LiteLLM's router balances across replicas:
// Route.Deployments does that expansion, with stable ids (the route id for the first deployment,
// "<route id>~<n>" for the others) that are sent as model_info.id so every create is addressable
// and idempotent.
//
// Both ways of running a gateway use the same expansion, so they never drift apart:
//
//   - through LiteLLM's model API (a proxy with a database and STORE_MODEL_IN_DB=True):
//     CreateRoute, ReadRoute, UpdateRoute and DeleteRoute drive a Gateway;
//   - from a config file (GitOps, or a proxy without a database): RenderConfig writes model_list
//     and router_settings as YAML, with secrets as os.environ/NAME references.
//
// Fallbacks ("try gpt-4o when chat-default fails") are a router-level setting keyed by model
// name, not part of a deployment: the API mode sets them with LiteLLM's /fallback endpoints, the
// config mode writes router_settings.fallbacks.
//
// Validate reports bad input field by field (errs.Problem, on the attribute as
// inferstack_api_route names it), so a Terraform resource can put each problem on its attribute
// at plan time. The package imports nothing from terraform-plugin-*.
package gateway
