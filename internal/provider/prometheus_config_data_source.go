package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	awsbackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/aws"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/metrics"
)

var (
	_ datasource.DataSource                   = &prometheusConfigDataSource{}
	_ datasource.DataSourceWithValidateConfig = &prometheusConfigDataSource{}
)

func newPrometheusConfigDataSource() datasource.DataSource { return &prometheusConfigDataSource{} }

// prometheusConfigDataSource renders scrape configs and a Grafana dashboard for endpoints'
// metrics targets. Pure computation: it needs no provider data and makes no call.
type prometheusConfigDataSource struct{}

func (d *prometheusConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_prometheus_config"
}

func (d *prometheusConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Renders what Prometheus and Grafana need to watch vLLM endpoints: a scrape job over the " +
			"endpoints' `metrics_targets` (as `static_configs` YAML and as `file_sd_configs` JSON) and over the instances " +
			"of endpoints on AWS (`aws_endpoints`, as `ec2_sd_configs` with relabelling), the PromQL of a " +
			"dashboard, and a Grafana dashboard with request rate, token throughput, queue, running requests, KV-cache " +
			"usage, and time-to-first-token and inter-token latency percentiles, per endpoint and replica. The queries " +
			"use vLLM's metric names and fall back to the names of older vLLM releases (`vllm:gpu_cache_usage_perc`, " +
			"`vllm:time_per_output_token_seconds`). vLLM serves `/metrics` without its API key, so the job has no " +
			"credentials. Makes no network call.",
		Attributes: map[string]schema.Attribute{
			"targets": schema.ListNestedAttribute{
				Required: true,
				MarkdownDescription: "The targets to scrape, in the shape of `inferstack_model_endpoint`'s `metrics_targets`; " +
					"several endpoints with `concat(a.metrics_targets, b.metrics_targets)`. An empty list renders a job " +
					"without targets.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"target": schema.StringAttribute{
							Required: true,
							MarkdownDescription: "`host:port` of a replica's metrics (vLLM's own port), or of a Kubernetes " +
								"Service; an IPv6 host in brackets. No scheme or path: the path is `metrics_path`.",
						},
						"labels": schema.MapAttribute{
							ElementType: types.StringType,
							Optional:    true,
							MarkdownDescription: "Labels every sample of the target gets (endpoint, model, revision, replica, " +
								"host). Names must match `[a-zA-Z_][a-zA-Z0-9_]*` and not start with `__`. The dashboard " +
								"draws one line per `endpoint` and `replica`.",
						},
					},
				},
			},
			"aws_endpoints": schema.ListNestedAttribute{
				Optional: true,
				MarkdownDescription: "Endpoints on AWS to scrape in the same job. Their replicas are the instances of an Auto " +
					"Scaling group behind the load balancer (their `metrics_targets` is empty), so Prometheus discovers them " +
					"itself: one `ec2_sd_configs` entry per endpoint, in its region, filtered on the tags every instance of " +
					"the endpoint carries (`inferstack:cluster`, `inferstack:endpoint`) and on running instances, each " +
					"instance scraped at its private IP on `port`. `relabel_configs` give the samples the labels of " +
					"`metrics_targets`: `endpoint` (the endpoint tag), `replica` (the instance id), `host` (the private IP), " +
					"and `model` and `revision` when set. Prometheus needs `ec2:DescribeInstances` and " +
					"`ec2:DescribeAvailabilityZones` (e.g. from its instance role) and a route to the nodes' `port` (allow it " +
					"in the cluster's `aws.allowed_cidrs`). Not in `file_sd_json`: discovered targets cannot be listed.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"endpoint_id": schema.StringAttribute{
							Required: true,
							MarkdownDescription: "The endpoint's `id`, `aws/<region>/<cluster>,<name>` (e.g. " +
								"`inferstack_model_endpoint.chat.id`): the region to discover in and the tags to filter on.",
						},
						"port": schema.Int64Attribute{
							Optional: true,
							MarkdownDescription: "vLLM's port on the instances: the endpoint's `aws.port`. Defaults to " +
								"`8000`, as the endpoint's does (so `inferstack_model_endpoint.chat.aws.port` works set or not).",
						},
						"model": schema.StringAttribute{
							Optional:            true,
							MarkdownDescription: "The `model` label of the endpoint's samples, e.g. `inferstack_model_endpoint.chat.model.id`. Unset: no label.",
						},
						"revision": schema.StringAttribute{
							Optional:            true,
							MarkdownDescription: "The `revision` label, e.g. `inferstack_model_endpoint.chat.resolved_revision`. Unset: no label.",
						},
					},
				},
			},
			"job_name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The scrape job's name: the `job` label of every sample, which every query selects. " +
					"Defaults to `" + metrics.DefaultJobName + "`.",
			},
			"scrape_interval": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "How often Prometheus scrapes each target, a Prometheus duration (`15s`, `1m30s`). " +
					"The queries' `rate()` window is four intervals, at least `1m`. Defaults to `" + metrics.DefaultScrapeInterval + "`.",
			},
			"metrics_path": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "HTTP path of the metrics. Defaults to `" + metrics.DefaultMetricsPath + "`, where vLLM serves them.",
			},
			"scrape_config_yaml": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "A Prometheus config document with the job under `scrape_configs`, its targets in " +
					"`static_configs` (one group per target) and, with `aws_endpoints`, its `ec2_sd_configs` and `relabel_configs`. " +
					"Merge it into `prometheus.yml` (e.g. `yamldecode(...).scrape_configs`) or hand it to the Prometheus " +
					"Operator as additional scrape configs.",
			},
			"file_sd_json": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The same target groups in the JSON of `file_sd_configs`: write it to a file a job's " +
					"`file_sd_configs` names, and Prometheus picks up changes without a restart. `targets` only: " +
					"`aws_endpoints` are discovered (use `scrape_config_yaml`).",
			},
			"dashboard_json": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "A Grafana dashboard (JSON model) running `queries`, with a `datasource` variable for " +
					"the Prometheus data source; its uid is `inferstack-` and the job name.",
			},
			"queries": schema.MapAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "The dashboard's PromQL by name: `request_rate`, `prompt_tokens_rate`, " +
					"`generation_tokens_rate`, `requests_waiting`, `requests_running`, `kv_cache_usage`, `ttft_p50`, " +
					"`ttft_p90`, `ttft_p99`, `itl_p50`, `itl_p90`, `itl_p99`; each one series per endpoint and replica, " +
					"for alerts or recording rules.",
			},
		},
	}
}

// ValidateConfig reports bad targets, label names and settings at plan time, on their
// attributes. Values not known yet are skipped; Read checks them once they are.
func (d *prometheusConfigDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m prometheusConfigDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg := expandPrometheusConfig(ctx, m, &resp.Diagnostics)
	addMetricsProblems(&resp.Diagnostics, cfg.Validate())
}

func (d *prometheusConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m prometheusConfigDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg := expandPrometheusConfig(ctx, m, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	out, err := metrics.Render(cfg)
	if ps := errs.Problems(err); len(ps) > 0 {
		addMetricsProblems(&resp.Diagnostics, ps)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("rendering Prometheus config (%d targets)", len(cfg.Targets)), err.Error())
		return
	}
	m.JobName = types.StringValue(withDefault(cfg.JobName, metrics.DefaultJobName))
	m.ScrapeInterval = types.StringValue(withDefault(cfg.ScrapeInterval, metrics.DefaultScrapeInterval))
	m.MetricsPath = types.StringValue(withDefault(cfg.MetricsPath, metrics.DefaultMetricsPath))
	m.ScrapeConfigYAML = types.StringValue(out.ScrapeConfigYAML)
	m.FileSDJSON = types.StringValue(out.FileSDJSON)
	m.DashboardJSON = types.StringValue(out.DashboardJSON)
	queries, diags := types.MapValueFrom(ctx, types.StringType, out.Queries)
	resp.Diagnostics.Append(diags...)
	m.Queries = queries
	tflog.Debug(ctx, "rendered Prometheus config", map[string]any{"targets": len(cfg.Targets), "aws_endpoints": len(cfg.EC2), "job": m.JobName.ValueString()})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

type prometheusConfigDataSourceModel struct {
	Targets          types.List   `tfsdk:"targets"`
	AWSEndpoints     types.List   `tfsdk:"aws_endpoints"`
	JobName          types.String `tfsdk:"job_name"`
	ScrapeInterval   types.String `tfsdk:"scrape_interval"`
	MetricsPath      types.String `tfsdk:"metrics_path"`
	ScrapeConfigYAML types.String `tfsdk:"scrape_config_yaml"`
	FileSDJSON       types.String `tfsdk:"file_sd_json"`
	DashboardJSON    types.String `tfsdk:"dashboard_json"`
	Queries          types.Map    `tfsdk:"queries"`
}

type prometheusConfigTargetModel struct {
	Target types.String `tfsdk:"target"`
	Labels types.Map    `tfsdk:"labels"`
}

type prometheusConfigAWSEndpointModel struct {
	EndpointID types.String `tfsdk:"endpoint_id"`
	Port       types.Int64  `tfsdk:"port"`
	Model      types.String `tfsdk:"model"`
	Revision   types.String `tfsdk:"revision"`
}

// unknownEC2Endpoint stands in, during validation, for the i-th AWS endpoint when its ID is not
// known until apply (a name of its own, so that two are not taken for one).
func unknownEC2Endpoint(i int) metrics.EC2Endpoint {
	return metrics.EC2Endpoint{Region: "us-east-1", Cluster: "unknown", Endpoint: fmt.Sprintf("unknown-%d", i)}
}

// expandAWSEndpoints adds the aws_endpoints of m to cfg. An endpoint_id that is not an AWS
// endpoint's is an error on its attribute; unknown values pass validation.
func expandAWSEndpoints(ctx context.Context, m prometheusConfigDataSourceModel, cfg *metrics.Config, diags *diag.Diagnostics) {
	if m.AWSEndpoints.IsNull() || m.AWSEndpoints.IsUnknown() {
		return
	}
	for i, el := range m.AWSEndpoints.Elements() {
		e := unknownEC2Endpoint(i)
		obj, ok := el.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			cfg.EC2 = append(cfg.EC2, e)
			continue
		}
		var am prometheusConfigAWSEndpointModel
		diags.Append(obj.As(ctx, &am, basetypes.ObjectAsOptions{})...)
		if id := am.EndpointID; !id.IsUnknown() {
			region, cluster, name, err := awsbackend.ParseEndpointID(id.ValueString())
			at := path.Root("aws_endpoints").AtListIndex(i).AtName("endpoint_id")
			switch {
			case err != nil || !awsbackend.IsClusterID(id.ValueString()): // "aws/" promises a region
				diags.AddAttributeError(at, "invalid AWS endpoint", fmt.Sprintf("aws_endpoints[%d].endpoint_id: %q is not the id of a "+
					"model endpoint on an AWS cluster: want aws/<region>/<cluster>,<name>, e.g. inferstack_model_endpoint.chat.id", i, id.ValueString()))
			default:
				e.Region, e.Cluster, e.Endpoint = region, cluster, name
			}
		}
		if !am.Port.IsUnknown() {
			e.Port = int(am.Port.ValueInt64())
		}
		if !am.Model.IsUnknown() {
			e.Model = am.Model.ValueString()
		}
		if !am.Revision.IsUnknown() {
			e.Revision = am.Revision.ValueString()
		}
		cfg.EC2 = append(cfg.EC2, e)
	}
}

// unknownTarget stands in, during validation, for a target address not known until apply: a
// valid address, so that only what is known is judged.
const unknownTarget = "unknown.invalid:1"

// expandPrometheusConfig builds the metrics config of m. Unknown values (at plan time) become
// values that pass validation: the defaults, unknownTarget, no labels.
func expandPrometheusConfig(ctx context.Context, m prometheusConfigDataSourceModel, diags *diag.Diagnostics) metrics.Config {
	cfg := metrics.Config{
		JobName:        m.JobName.ValueString(),
		ScrapeInterval: m.ScrapeInterval.ValueString(),
		MetricsPath:    m.MetricsPath.ValueString(),
	}
	expandAWSEndpoints(ctx, m, &cfg, diags)
	if m.Targets.IsNull() || m.Targets.IsUnknown() {
		return cfg
	}
	for _, el := range m.Targets.Elements() {
		t := metrics.Target{Address: unknownTarget}
		obj, ok := el.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			cfg.Targets = append(cfg.Targets, t)
			continue
		}
		var tm prometheusConfigTargetModel
		diags.Append(obj.As(ctx, &tm, basetypes.ObjectAsOptions{})...)
		if !tm.Target.IsUnknown() {
			t.Address = tm.Target.ValueString()
		}
		if !tm.Labels.IsNull() && !tm.Labels.IsUnknown() {
			t.Labels = make(map[string]string, len(tm.Labels.Elements()))
			for k, v := range tm.Labels.Elements() {
				if s, ok := v.(types.String); ok && !s.IsUnknown() {
					t.Labels[k] = s.ValueString()
				} else {
					t.Labels[k] = "" // the name is known, and is checked
				}
			}
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	return cfg
}

// addMetricsProblems attaches each bad input to its attribute: a target's under its own summary.
func addMetricsProblems(diags *diag.Diagnostics, ps []*errs.Problem) {
	for _, p := range ps {
		summary := "invalid Prometheus config"
		switch {
		case strings.HasPrefix(p.Attribute, "targets"):
			summary = "invalid metrics target"
		case strings.HasPrefix(p.Attribute, "aws_endpoints"):
			summary = "invalid AWS endpoint"
		}
		addProblems(diags, path.Empty(), summary, p)
	}
}

// withDefault is v, or def when v is empty (an attribute left unset).
func withDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
