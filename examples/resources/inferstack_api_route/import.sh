# A route is imported by its id: the id attribute, which is model_info.id of the route's first
# deployment in LiteLLM (GET /model/info lists it).
terraform import inferstack_api_route.chat chat-default-3f9a1c2b
