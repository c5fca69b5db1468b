# Resolve a model on the Hugging Face Hub: the commit to pin, its size and its shape.
data "inferstack_hf_model" "qwen" {
  id       = "Qwen/Qwen2.5-7B-Instruct"
  revision = "main" # a branch, tag, "refs/pr/N" or a full commit sha; default "main"
}

# Gated models (Llama, Gemma, Mistral) need a token of an account that accepted the licence:
# provider "inferstack" { huggingface { token = var.hf_token } }
data "inferstack_hf_model" "llama" {
  id = "meta-llama/Llama-3.1-8B-Instruct"
}

output "qwen_commit" {
  value = data.inferstack_hf_model.qwen.sha
}

output "qwen_shape" {
  value = {
    parameters          = data.inferstack_hf_model.qwen.parameters          # 7615616512
    dtype               = data.inferstack_hf_model.qwen.dtype               # "bfloat16"
    num_hidden_layers   = data.inferstack_hf_model.qwen.num_hidden_layers   # 28
    num_attention_heads = data.inferstack_hf_model.qwen.num_attention_heads # 28
    num_key_value_heads = data.inferstack_hf_model.qwen.num_key_value_heads # 4
    head_dim            = data.inferstack_hf_model.qwen.head_dim            # 128
    max_context         = data.inferstack_hf_model.qwen.max_position_embeddings
  }
}
