"""Which device a model runs on inside a Spark task: the task's GPU, any GPU, or the CPU.

Shared by the text and image UDFs. On executors that Spark gave GPUs (the ``gpu`` profile:
``spark.task.resource.gpu.amount``), each task is told which GPU is its own through
``TaskContext.resources()['gpu'].addresses``; two tasks on one executor with two GPUs must
not both land on ``cuda:0``. Outside such a task (the driver, a plain Python process, a
cluster without GPU scheduling) the first CUDA device serves when torch sees one, else the
CPU. Half precision on a GPU: the embeddings are L2-normalised and compared by cosine, where
fp16's error (~1e-3) is far below the gaps between neighbours, and it doubles the
throughput of the tensor cores.

No torch import at module load: the DAG's machine imports the jobs' configuration only.
"""

from __future__ import annotations

from dataclasses import dataclass

# The resource name the gpu profile requests (spark.{executor,task}.resource.gpu.amount).
GPU_RESOURCE = "gpu"
AUTO = "auto"


@dataclass(frozen=True)
class DeviceChoice:
    """``device`` as torch names it, the Spark GPU address it came from (None when Spark
    assigned none) and whether the model runs in half precision there."""

    device: str
    gpu_address: str | None
    half: bool

    @property
    def dtype_name(self) -> str:
        return "float16" if self.half else "float32"


def task_gpu_addresses(resource: str = GPU_RESOURCE) -> list[str]:
    """The GPU addresses Spark assigned to the running task; empty outside a task or when
    the task has no such resource."""
    try:
        from pyspark import TaskContext
    except ImportError:  # a process without pyspark is never a Spark task
        return []
    context = TaskContext.get()
    if context is None:
        return []
    found = context.resources().get(resource)
    return list(found.addresses) if found is not None else []


def choose_device(
    requested: str = AUTO,
    addresses: list[str] | None = None,
    cuda_available: bool | None = None,
) -> DeviceChoice:
    """The device for a model: ``requested`` when it names one (``cpu``, ``cuda:1``),
    otherwise (``auto``) the first of the task's GPU ``addresses`` when torch sees CUDA,
    CUDA device 0 when torch sees CUDA but Spark assigned nothing, else the CPU.

    ``addresses`` defaults to the running task's; ``cuda_available`` to torch's answer
    (both parameters let a test on a machine without a GPU ask what would be chosen).
    The address is kept on a CPU fallback too, so a misconfigured node (Spark handed out
    a GPU that torch cannot see) shows in the logs instead of silently running slowly.
    """
    if addresses is None:
        addresses = task_gpu_addresses()
    address = addresses[0] if addresses else None
    if requested != AUTO:
        return DeviceChoice(requested, address, requested.startswith("cuda"))
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if not cuda_available:
        return DeviceChoice("cpu", address, False)
    return DeviceChoice(f"cuda:{address if address is not None else 0}", address, True)


def task_cpu_threads(default: int | None = None) -> int | None:
    """The cores Spark reserved for the running task (``spark.task.cpus``), so torch in a
    Python worker uses as many threads as its task has cores instead of one per core of
    the machine for every concurrent task; ``default`` outside a task."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return default
    context = TaskContext.get()
    if context is None:
        return default
    return int(context.cpus())
