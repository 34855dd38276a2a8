"""The gates a staged snapshot passes before ``CURRENT`` may point at it.

Each gate is a pure function of the staged snapshot's figures (and of the snapshot served
now, where it compares) that returns a :class:`GateResult`. :func:`judge` runs them all, so a
refused snapshot says every reason at once rather than the first one found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# Below this norm a vector is treated as zero: its cosine with anything is noise.
ZERO_NORM = 1e-6


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def finite_nonzero_vectors(vectors: np.ndarray) -> GateResult:
    """No NaN or infinite component, and no (near) zero vector."""
    finite = np.isfinite(vectors).all(axis=1)
    norms = np.linalg.norm(np.where(np.isfinite(vectors), vectors, 0.0), axis=1)
    zero = finite & (norms < ZERO_NORM)
    problems = []
    if (~finite).any():
        problems.append(f"{int((~finite).sum())} vectors with NaN or infinite values")
    if zero.any():
        problems.append(f"{int(zero.sum())} zero vectors")
    return GateResult(
        "finite_nonzero_vectors",
        not problems,
        "; ".join(problems) or f"{len(vectors)} vectors, all finite and non-zero",
    )


def one_model_version(versions: Mapping[str, list[str]]) -> GateResult:
    """Every modality of the snapshot comes from exactly one model version."""
    mixed = {modality: sorted(set(found)) for modality, found in versions.items()}
    mixed = {modality: found for modality, found in mixed.items() if len(found) != 1}
    if mixed:
        detail = "; ".join(f"{m}: {', '.join(v) or 'none'}" for m, v in sorted(mixed.items()))
        return GateResult("one_model_version", False, f"model versions mixed: {detail}")
    described = ", ".join(f"{m}={set(v).pop()}" for m, v in sorted(versions.items()))
    return GateResult("one_model_version", True, described)


def self_recall(recall: float, minimum: float) -> GateResult:
    """The index finds (a sample of) its own vectors as their nearest neighbour."""
    return GateResult(
        "self_recall",
        recall >= minimum,
        f"self-recall@1 {recall:.3f} (gate {minimum})",
    )


def vector_count(count: int, served_count: int | None, max_drop: float) -> GateResult:
    """No sudden drop of the vector count against the snapshot served now."""
    if served_count is None:
        return GateResult("vector_count", True, f"{count} vectors; no snapshot served yet")
    floor = (1.0 - max_drop) * served_count
    return GateResult(
        "vector_count",
        count >= floor,
        f"{count} vectors against {served_count} served (refused below {floor:.0f})",
    )


def evaluation_not_worse(
    evaluation: Mapping[str, float] | None,
    served_evaluation: Mapping[str, float] | None,
    metric: str,
    tolerance: float,
    min_queries: int,
) -> GateResult:
    """The offline evaluation is no worse than the served snapshot's beyond ``tolerance``.

    Both sides must be measured on at least ``min_queries`` queries; otherwise there is no
    evidence either way and the gate passes, saying so.
    """
    if not evaluation or evaluation.get("queries", 0) < min_queries:
        queries = (evaluation or {}).get("queries", 0)
        return GateResult(
            "evaluation", True, f"not judged: {queries} queries (needs {min_queries})"
        )
    value = float(evaluation[metric])
    if not served_evaluation or served_evaluation.get("queries", 0) < min_queries:
        return GateResult("evaluation", True, f"{metric} {value:.4f}; nothing served to compare")
    served = float(served_evaluation[metric])
    return GateResult(
        "evaluation",
        value >= served - tolerance,
        f"{metric} {value:.4f} against {served:.4f} served (tolerance {tolerance})",
    )


def refusals(results: list[GateResult]) -> list[str]:
    """The reasons of the gates that failed, one line each."""
    return [f"{result.gate}: {result.detail}" for result in results if not result.passed]
