variable "ssh_private_key" {
  type        = string
  sensitive   = true
  description = "The OpenSSH private key authorised on every GPU host (or set INFERSTACK_SSH_PRIVATE_KEY)."
}

# The SSH key is the provider's: every host (and the bastion) is reached with it.
provider "inferstack" {
  onprem {
    ssh_private_key = var.ssh_private_key
  }
}

resource "inferstack_inference_cluster" "lab" {
  name = "lab"

  onprem = {
    hosts = [
      {
        name     = "gpu-a"
        address  = "10.0.0.11"
        user     = "ops"
        host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIczprg9HpWrgTkY1FC/ZmHOlOxTS3Bwqhf0ZYiHOMtS"
        labels   = { rack = "r1" }
      },
      {
        name     = "gpu-b"
        address  = "10.0.0.12"
        port     = 2222
        user     = "ops"
        host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID3DrkJre+on2SOIiDOATJsJO08Z3gu+mUacmXQMv7VB"
      },
    ]
    container_runtime = "docker"
  }
}

output "lab_cluster_id" {
  value = inferstack_inference_cluster.lab.id
}

output "lab_gpus" {
  value = { for n in inferstack_inference_cluster.lab.onprem.nodes : n.name => [for g in n.gpus : g.model] }
}
