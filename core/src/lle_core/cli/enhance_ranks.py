"""``lle enhance`` under ``torchrun``: one summary for all processes, printed by rank 0.

Each process enhances its shard of the files (:mod:`lle_core.inference.shard`); this module
joins a CPU (gloo) process group only to gather what each did, so that rank 0 prints one
summary and every process exits with the same code. A process whose run raised still takes
part in the gathering (its error is reported by rank 0), so that no process waits forever.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lle_core.errors import LLEError
from lle_core.inference.pipeline import EnhanceReport
from lle_core.inference.shard import Shard


class RankError(LLEError):
    """What went wrong on one process of a ``torchrun`` launch (its message, as it printed)."""


def join_ranks(shard: Shard) -> bool:
    """Join the launch's process group (gloo) when there are several processes.

    Returns:
        Whether this call created the group (then :func:`leave_ranks` destroys it).
    """
    import torch.distributed as dist

    if shard.world_size == 1 or dist.is_initialized():
        return False
    dist.init_process_group(backend="gloo")
    return True


def leave_ranks(created: bool) -> None:
    """Destroy the process group :func:`join_ranks` created."""
    import torch.distributed as dist

    if created and dist.is_initialized():
        dist.barrier()  # nobody tears the group down while another process still uses it
        dist.destroy_process_group()


def rank_device(device: str | None, shard: Shard) -> str | None:
    """``cuda`` without an index means this machine's GPU ``LOCAL_RANK`` for a launch."""
    if device == "cuda" and shard.world_size > 1:
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def gather_reports(
    report: EnhanceReport | None, error: BaseException | None, shard: Shard
) -> tuple[EnhanceReport, list[int]] | None:
    """Every process' report merged, and the images each wrote, on rank 0 (``None`` elsewhere).

    Failed inputs keep their message (as :class:`RankError`); a process that raised
    (``error``) shows as a failure named ``rank N``.
    """
    import torch.distributed as dist

    from lle_core.cli.main import error_message

    def message(err: BaseException) -> str:
        text = error_message(err)
        return text if isinstance(err, LLEError | OSError | MemoryError) else (
            f"{type(err).__name__}: {text}")

    mine: dict[str, Any] = {
        "inputs": report.inputs if report else [],
        "outputs": report.outputs if report else [],
        "written": report.written if report else [],
        "failed": [(src, message(err)) for src, err in report.failed] if report else [],
        "seconds": report.seconds if report else 0.0,
        "error": None if error is None else message(error),
    }
    parts: list[Any] = [None] * shard.world_size
    dist.all_gather_object(parts, mine)
    if not shard.is_main:
        return None
    merged = EnhanceReport(inputs=[], outputs=[], shard=Shard(0, 1))
    for rank, part in enumerate(parts):
        merged.inputs += part["inputs"]
        merged.outputs += part["outputs"]
        merged.written += part["written"]
        merged.failed += [(src, RankError(text)) for src, text in part["failed"]]
        if part["error"] is not None:
            merged.failed.append((Path(f"rank {rank}"), RankError(part["error"])))
        merged.seconds = max(merged.seconds, part["seconds"])
    return merged, [len(part["written"]) for part in parts]


__all__ = ["RankError", "gather_reports", "join_ranks", "leave_ranks", "rank_device"]
