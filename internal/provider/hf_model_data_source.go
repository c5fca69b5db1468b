package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

var (
	_ datasource.DataSource              = &hfModelDataSource{}
	_ datasource.DataSourceWithConfigure = &hfModelDataSource{}
)

func newHFModelDataSource() datasource.DataSource { return &hfModelDataSource{} }

type hfModelDataSource struct {
	data *providerData
}

func (d *hfModelDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_hf_model"
}

func (d *hfModelDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Resolves a model on the Hugging Face Hub: the commit a revision points at, the parameter " +
			"count, the licence and gate, and the network's shape from `config.json` at that commit. These are the " +
			"inputs of `inferstack_deployment_plan` and the pin of every deployment. The lookup uses the provider's " +
			"`huggingface` block (token and endpoint, or `HF_TOKEN` and `HF_ENDPOINT`) and is made once per model and " +
			"revision per run, however many data sources ask.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Repository id on the Hub, `owner/name` exactly as on the model page, e.g. " +
					"`Qwen/Qwen2.5-7B-Instruct`. A malformed id fails at plan time without a request.",
				Validators: []validator.String{hfModelID()},
			},
			"revision": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Branch, tag, `refs/pr/N` or full commit sha to resolve. Defaults to `main`. " +
					"Pin deployments to `sha`, not to a branch: a branch moves.",
				Validators: []validator.String{hfRevision()},
			},
			"sha": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The 40-character commit `revision` resolves to. Everything else is read at this commit.",
			},
			"private": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether the repository is private (only readable with a token of an account that has access).",
			},
			"gated": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "Whether the repository is gated: its files need a token of an account that has " +
					"accepted the licence on the model page (Llama, Gemma, Mistral). vLLM needs that token too.",
			},
			"license": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The model card's licence id (`apache-2.0`, `llama3.1`), or its `license_name` when " +
					"the card says `other` (`qwen`); null when the card states none.",
			},
			"parameters": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Total parameters, the Hub's `safetensors.total`; null when the repository has no " +
					"safetensors metadata. For pre-quantized checkpoints (AWQ, GPTQ) it counts stored elements, so it " +
					"is smaller than the logical size.",
			},
			"parameters_by_dtype": schema.MapAttribute{
				Computed:            true,
				ElementType:         types.Int64Type,
				MarkdownDescription: "Stored elements per safetensors dtype (`BF16`, `I32`, `F8_E4M3`...), the Hub's `safetensors.parameters`.",
			},
			"architecture": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`architectures[0]` of `config.json`, e.g. `LlamaForCausalLM`: vLLM must support it.",
			},
			"model_type": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`model_type` of `config.json`, e.g. `llama`, `qwen2`, `gemma2`.",
			},
			"dtype": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`torch_dtype` (or `dtype`) of `config.json`, e.g. `bfloat16`.",
			},
			"hidden_size": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`hidden_size` of `config.json`.",
			},
			"intermediate_size": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`intermediate_size` of `config.json` (the MLP width); null when the config omits it.",
			},
			"num_hidden_layers": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`num_hidden_layers` of `config.json`.",
			},
			"num_attention_heads": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`num_attention_heads` of `config.json`. Valid tensor-parallel sizes divide it.",
			},
			"num_key_value_heads": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`num_key_value_heads` of `config.json`; equals `num_attention_heads` when the config omits it.",
			},
			"head_dim": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "`head_dim` of `config.json` when present (Gemma-2: 128), else `hidden_size / " +
					"num_attention_heads`.",
			},
			"max_position_embeddings": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "The model's own context limit in tokens (`max_position_embeddings`); null when the " +
					"config omits it. vLLM refuses a longer `max_model_len` unless the context is extended on purpose.",
			},
			"vocab_size": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "`vocab_size` of `config.json`; null when the config omits it.",
			},
			"sliding_window": schema.SingleNestedAttribute{
				Computed: true,
				MarkdownDescription: "Sliding-window attention, null when every layer attends to the whole context " +
					"(Qwen2.5's `use_sliding_window: false` and Mistral-7B-v0.3's `sliding_window: null` both mean none). " +
					"Layers that use a window keep at most `size` tokens in their KV cache.",
				Attributes: map[string]schema.Attribute{
					"size": schema.Int64Attribute{
						Computed:            true,
						MarkdownDescription: "Window in tokens, e.g. 4096.",
					},
					"layers": schema.Int64Attribute{
						Computed:            true,
						MarkdownDescription: "How many layers use the window; the others attend globally (Gemma-2: 23 of 46).",
					},
					"pattern": schema.StringAttribute{
						Computed: true,
						MarkdownDescription: "How `config.json` lays the window out: `all`, `alternating` (Gemma-2), " +
							"`every_nth` (Gemma-3), `from_layer` (Qwen2 with `use_sliding_window`) or `layer_types`.",
					},
				},
			},
			"quantization": schema.SingleNestedAttribute{
				Computed: true,
				MarkdownDescription: "The checkpoint's own quantization from `quantization_config`, null when the " +
					"weights are not quantized, e.g. `{ method = \"awq\", bits = 4, group_size = 128 }`.",
				Attributes: map[string]schema.Attribute{
					"method": schema.StringAttribute{
						Computed:            true,
						MarkdownDescription: "`quant_method`, lower-cased: `awq`, `gptq`, `fp8`, `compressed-tensors`, `bitsandbytes`...",
					},
					"bits": schema.Int64Attribute{
						Computed:            true,
						MarkdownDescription: "Bits per weight (4, 8); null when the config does not say.",
					},
					"group_size": schema.Int64Attribute{
						Computed:            true,
						MarkdownDescription: "Group size of grouped methods (AWQ, GPTQ); null when not grouped.",
					},
				},
			},
		},
	}
}

func (d *hfModelDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *hfModelDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m hfModelDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, revision := m.ID.ValueString(), m.Revision.ValueString()
	if revision == "" {
		revision = hf.DefaultRevision
	}
	model, ok := resolveModel(ctx, d.data, id, revision, "id", &resp.Diagnostics)
	if !ok {
		return
	}
	state := flattenHFModel(model)
	state.ID = m.ID // as written: the Hub matches ids case-insensitively
	state.Revision = types.StringValue(revision)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// resolveModel looks a model up through the provider's shared Hub client; on failure it adds the
// diagnostic (on idAttribute or revision where the Hub blames one) and reports false.
func resolveModel(ctx context.Context, data *providerData, id, revision, idAttribute string, diags *diag.Diagnostics) (*hf.Model, bool) {
	if data == nil {
		diags.AddError("provider not configured", "The inferstack provider was not configured before a data source was read: this is a bug in the provider, please report it.")
		return nil, false
	}
	client, err := data.HF()
	if err != nil {
		diags.AddAttributeError(path.Root("huggingface").AtName("endpoint"), "configuring the Hugging Face client", err.Error())
		return nil, false
	}
	tflog.Debug(ctx, "resolving Hugging Face model", map[string]any{"id": id, "revision": revision, "endpoint": client.Endpoint()})
	model, err := client.Resolve(ctx, id, revision)
	if err != nil {
		addHFError(diags, err, idAttribute, id, revision)
		return nil, false
	}
	tflog.Debug(ctx, "resolved Hugging Face model", map[string]any{"id": model.ID, "revision": revision, "sha": model.SHA, "parameters": model.Parameters})
	return model, true
}

type hfModelDataSourceModel struct {
	ID                    types.String         `tfsdk:"id"`
	Revision              types.String         `tfsdk:"revision"`
	SHA                   types.String         `tfsdk:"sha"`
	Private               types.Bool           `tfsdk:"private"`
	Gated                 types.Bool           `tfsdk:"gated"`
	License               types.String         `tfsdk:"license"`
	Parameters            types.Int64          `tfsdk:"parameters"`
	ParametersByDType     types.Map            `tfsdk:"parameters_by_dtype"`
	Architecture          types.String         `tfsdk:"architecture"`
	ModelType             types.String         `tfsdk:"model_type"`
	DType                 types.String         `tfsdk:"dtype"`
	HiddenSize            types.Int64          `tfsdk:"hidden_size"`
	IntermediateSize      types.Int64          `tfsdk:"intermediate_size"`
	NumHiddenLayers       types.Int64          `tfsdk:"num_hidden_layers"`
	NumAttentionHeads     types.Int64          `tfsdk:"num_attention_heads"`
	NumKeyValueHeads      types.Int64          `tfsdk:"num_key_value_heads"`
	HeadDim               types.Int64          `tfsdk:"head_dim"`
	MaxPositionEmbeddings types.Int64          `tfsdk:"max_position_embeddings"`
	VocabSize             types.Int64          `tfsdk:"vocab_size"`
	SlidingWindow         *slidingWindowModel  `tfsdk:"sliding_window"`
	Quantization          *hfQuantizationModel `tfsdk:"quantization"`
}

type slidingWindowModel struct {
	Size    types.Int64  `tfsdk:"size"`
	Layers  types.Int64  `tfsdk:"layers"`
	Pattern types.String `tfsdk:"pattern"`
}

type hfQuantizationModel struct {
	Method    types.String `tfsdk:"method"`
	Bits      types.Int64  `tfsdk:"bits"`
	GroupSize types.Int64  `tfsdk:"group_size"`
}

func flattenHFModel(m *hf.Model) hfModelDataSourceModel {
	out := hfModelDataSourceModel{
		ID:                    types.StringValue(m.ID),
		Revision:              types.StringValue(m.Revision),
		SHA:                   types.StringValue(m.SHA),
		Private:               types.BoolValue(m.Private),
		Gated:                 types.BoolValue(m.Gated),
		License:               stringOrNull(m.License),
		Parameters:            positiveOrNull(m.Parameters),
		ParametersByDType:     types.MapNull(types.Int64Type),
		Architecture:          stringOrNull(m.Architecture),
		ModelType:             stringOrNull(m.ModelType),
		DType:                 stringOrNull(m.DType),
		HiddenSize:            types.Int64Value(m.HiddenSize),
		IntermediateSize:      positiveOrNull(m.IntermediateSize),
		NumHiddenLayers:       types.Int64Value(m.NumHiddenLayers),
		NumAttentionHeads:     types.Int64Value(m.NumAttentionHeads),
		NumKeyValueHeads:      types.Int64Value(m.NumKeyValueHeads),
		HeadDim:               types.Int64Value(m.HeadDim),
		MaxPositionEmbeddings: positiveOrNull(m.MaxPositionEmbeddings),
		VocabSize:             positiveOrNull(m.VocabSize),
	}
	if len(m.ParametersByDType) > 0 {
		elems := make(map[string]attr.Value, len(m.ParametersByDType))
		for k, v := range m.ParametersByDType {
			elems[k] = types.Int64Value(v)
		}
		out.ParametersByDType = types.MapValueMust(types.Int64Type, elems)
	}
	if w := m.SlidingWindow; w.Size > 0 && w.Layers > 0 {
		out.SlidingWindow = &slidingWindowModel{
			Size:    types.Int64Value(w.Size),
			Layers:  types.Int64Value(w.Layers),
			Pattern: types.StringValue(w.Pattern),
		}
	}
	if q := m.Quantization; q != nil {
		out.Quantization = &hfQuantizationModel{
			Method:    types.StringValue(q.Method),
			Bits:      positiveOrNull(q.Bits),
			GroupSize: positiveOrNull(q.GroupSize),
		}
	}
	return out
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func positiveOrNull(n int64) types.Int64 {
	if n <= 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}
