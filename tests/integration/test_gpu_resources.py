"""Spark's GPU assignment reaches the UDFs: a local cluster with a fake ``gpu`` resource.

Run in its own process: a local-cluster master needs its own SparkContext, and the test
session already holds one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest

pytestmark = pytest.mark.slow  # a worker and an executor JVM start: ~40 s

PROBE = """
import json, sys
from pyspark.sql import SparkSession
from contentlake.udfs.image_embedding import device_probe_udf

script = sys.argv[1]
spark = (
    SparkSession.builder.master("local-cluster[1,1,1024]")
    .config("spark.ui.enabled", "false")
    .config("spark.executor.memory", "512m")
    .config("spark.worker.resource.gpu.amount", "1")
    .config("spark.worker.resource.gpu.discoveryScript", script)
    .config("spark.executor.resource.gpu.amount", "1")
    .config("spark.executor.resource.gpu.discoveryScript", script)
    .config("spark.task.resource.gpu.amount", "1")
    .getOrCreate()
)
probe = device_probe_udf()
rows = spark.range(8).repartition(4).select(probe("id").alias("device")).distinct().collect()
print("DEVICES=" + json.dumps(sorted(row.device for row in rows)))
spark.stop()
"""


def test_the_tasks_gpu_address_reaches_the_udf_and_decides_the_device(tmp_path):
    import torch

    script = tmp_path / "fake_gpus.sh"
    # What conf/gpu/discover_gpus.sh prints on a node whose only GPU has index 3.
    script.write_text('#!/bin/sh\necho \'{"name": "gpu", "addresses": ["3"]}\'\n')
    script.chmod(0o755)
    env = {
        **os.environ,
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("DEVICES=")]
    assert lines, done.stderr[-3000:]

    # With CUDA, the task's address 3 becomes cuda:3; without, the CPU, address recorded.
    expected = "cuda:3|3" if torch.cuda.is_available() else "cpu|3"
    assert json.loads(lines[0].removeprefix("DEVICES=")) == [expected]
