"""What a new user hits in the first hour (issue 22): each check failed before its fix."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from lle_core.cli.main import main


def test_list_json_into_a_closed_pipe_is_quiet_and_succeeds() -> None:
    """`lle list --json | head`: the reader leaving early is no error."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lle_core.cli.main", "list", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # closed before lle writes anything: every write hits EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Broken pipe" not in err and "error" not in err


def test_show_prints_readable_parameter_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "model:hf2.model"]) == 0
    out = capsys.readouterr().out
    for raw in (" at 0x", "PlainValidator", "Annotated[", "typing.", "Optional["):
        assert raw not in out, f"raw type repr {raw!r} in:\n{out}"
    lines = {line.split(":")[0].strip(): line for line in out.splitlines() if line.startswith("  ")}
    assert "encoder_fusion: fusion spec | None = None" in lines["encoder_fusion"]
    assert "backbone: backbone spec = 'hf2.vgg16'" in lines["backbone"]
    assert "norm: 'none' | 'batch' = 'none'" in lines["norm"]
    assert main(["show", "model:hf2.model", "--json"]) == 0
    types = {p["name"]: p["type"] for p in json.loads(capsys.readouterr().out)["parameters"]}
    assert types["skip_fusion"] == "fusion spec | None" and types["base_width"] == "int"


def test_weights_verify_says_what_it_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights"]) == 0
    plain = capsys.readouterr().out
    assert main(["weights", "--verify"]) == 0
    verified = capsys.readouterr().out
    assert verified != plain and "SHA-256" not in plain
    last = verified.strip().splitlines()[-1]
    assert "SHA-256" in last and last.endswith("all match")
    from lle_core.weight_sets import weight_sets

    assert f"read {len(weight_sets())} weight file(s)" in last


def test_weights_verify_summary_counts_mismatches() -> None:
    from lle_core.cli.weights_cmd import verify_summary

    assert "2 do(es) not match" in verify_summary(6, 2, 2**20)
    assert "(1.0 MiB)" in verify_summary(6, 0, 2**20)


def test_export_failure_prints_one_error_not_the_graph(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The TorchScript exporter's C++ logger dumped ~260 lines of graph to stdout."""
    assert main(["export", "--model", "neid", "-o", str(tmp_path / "n.onnx")]) == 1
    out, err = capfd.readouterr()
    assert out == "" and "graph(" not in err
    assert len(err.strip().splitlines()) <= 4, err
    assert "bicubic" in err and not (tmp_path / "n.onnx").exists()


def test_export_prints_no_tracer_warnings(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["export", "--model", "auxnet", "-o", str(tmp_path / "a.onnx")]) == 0
    tracer = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    assert not tracer, tracer[0].message
    out, err = capfd.readouterr()
    assert out == "" and "Warning" not in err
    assert (tmp_path / "a.onnx").stat().st_size > 0


def test_enhance_progress_bar_uses_rich_columns_only() -> None:
    """The images-per-second column was a hand-written copy of rich's TaskProgressColumn."""
    import io

    from rich.console import Console

    from lle_core.cli.enhance_cmd import _ProgressBar

    bar = _ProgressBar(Console(file=io.StringIO()), "core.gamma", 3)
    assert all(type(c).__module__ == "rich.progress" for c in bar.bar.columns)
    from rich.progress import TaskProgressColumn

    speed = [c for c in bar.bar.columns if isinstance(c, TaskProgressColumn)]
    assert speed and speed[0].show_speed
