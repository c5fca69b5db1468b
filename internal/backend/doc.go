/*
Package backend: adding a backend.

A backend is a place GPU capacity lives (AWS, Azure, on-prem hosts over SSH, Kubernetes).
The three resources never name one: inferstack_inference_cluster finds the backend by the block
that is set (on create) or by the first segment of the cluster ID, inferstack_model_endpoint and
inferstack_api_route by the cluster ID inside their IDs. Adding one is these steps, and no edit to
any resource's CRUD method:

 1. A package internal/backend/<name> with a type that implements Backend. The interface is the
    checklist:
    - Name: the block name and the ID prefix ("<name>/..."); Capabilities: what its endpoints
    are like (an autoscaler of its own, one shared URL or one per replica, provider-placed
    replicas on named hosts).
    - ClusterID before anything exists (the resource writes it to state first, so an interrupted
    create is adopted by the next apply); PlanCluster without writes (preflight checks as
    *InputError on the block's attribute paths, warnings, plan-time facts, attributes whose
    change replaces); EnsureCluster idempotent (finds what exists by name/tag, makes only
    what is missing, updates in place); FindCluster (ErrNotFound when nothing is left, Missing
    for parts deleted outside Terraform); WaitClusterReady; DeleteCluster (absent is success);
    ImportClusterID; ClusterKey (what, if it changes, makes an endpoint on it another endpoint).
    - EnsureEndpoint / FindEndpoint / WaitEndpointReady / DeleteEndpoint with the same rules,
    EndpointSpec (the applied settings, for import) and EndpointTarget (URLs, served name, key
    for a gateway route). The vLLM spec comes rendered-ready in EndpointSpec.Node
    (internal/vllm): use it as it is, so every backend serves the same arguments.
    - Retries for throttling and transient faults live in the backend's clients; waits use the
    SDK's waiters or internal/wait under the caller's context (the resource's timeout).
 2. An adapter in internal/provider (provider.BackendAdapter): the block in
    inferstack_inference_cluster (settings and, computed, what the backend made), ExpandCluster,
    PlanCluster, FlattenCluster; optionally a block in inferstack_model_endpoint. List it in
    builtinAdapters and make the backend in the provider's Configure (no network call there: build
    clients lazily).
 3. Tests: unit tests of the package against its real peer (or the SDK's fakes), and acceptance
    tests of the three resources under both CLIs. The test-only backend in
    internal/acctest/testbed, registered with provider.WithBackend and driven through all three
    resources by TestAccBackendSeam_testbed, is the smallest complete example.
 4. Docs: an example per resource block (examples/resources/...), `make docs`, the README's
    table of what exists, and the credentials table in templates/index.md.tmpl.
*/
package backend
