#!/usr/bin/env bash
# Spark GPU discovery script (spark.{worker,executor}.resource.gpu.discoveryScript, the gpu
# profile): prints the ResourceInformation JSON Spark expects, one address per GPU that
# nvidia-smi lists, e.g. {"name": "gpu", "addresses": ["0", "1"]}. Spark then hands each
# task its own addresses (TaskContext.resources()['gpu']), which the UDFs turn into their
# torch device (udfs/devices.py). No GPU or no nvidia-smi: no addresses, and an executor
# that asked for a GPU fails to start, saying so, instead of running on the CPU unnoticed.
set -euo pipefail
addresses=""
if command -v nvidia-smi >/dev/null 2>&1; then
  addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' \
    | awk 'NF { printf "%s\"%s\"", (n++ ? "," : ""), $1 }')
fi
printf '{"name": "gpu", "addresses": [%s]}\n' "$addresses"
