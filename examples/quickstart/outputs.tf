output "gpu_types" {
  description = "GPU instance types with enough memory per GPU, sorted by name."
  value = [for t in data.inferstack_gpu_types.candidates.types : {
    name           = t.name
    gpu            = "${t.gpu_count} x ${t.gpu_model}"
    gpu_memory_gib = floor(t.gpu_memory_mib / 1024)
    vcpus          = t.vcpus
  }]
}

output "gpu_types_table" {
  description = "The same list as a table, for people."
  value = join("\n", concat(
    [format("%-18s %-30s %12s %6s", "instance type", "GPUs", "GiB per GPU", "vCPUs")],
    [for t in data.inferstack_gpu_types.candidates.types :
    format("%-18s %-30s %12d %6d", t.name, "${t.gpu_count} x ${t.gpu_model}", floor(t.gpu_memory_mib / 1024), t.vcpus)]
  ))
}
