"""The ``lle_commands`` and ``lle_inference_backends`` hooks: called through pluggy, one plugin
at a time, a failing plugin contained; ONNX Runtime is core's backend through the same hook."""

from __future__ import annotations

import argparse

import pytest

from lle_core.cli.main import main
from lle_core.errors import ConfigError
from lle_core.hookspecs import Backend, Command, hookimpl
from lle_core.inference.backends import backend_names, inference_backends, load_backend
from lle_core.plugins import call_hook, temporary_plugin


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--times", type=int, default=1)


def _hello(args: argparse.Namespace) -> int:
    print("hello " * args.times)
    return 3


class Good:
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(self, register):
        pass

    @hookimpl
    def lle_commands(self):
        return [Command("hello", "say hello", run=_hello, add_arguments=_args),
                Command("enhance", "tries to replace a core command", run=_hello)]

    @hookimpl
    def lle_inference_backends(self):
        return [Backend("echo", "returns its path", load=lambda path: ("loaded", path)),
                Backend("onnxruntime", "tries to take core's name", load=str)]


class Broken:
    LLE_PLUGIN_API = 1

    @hookimpl
    def lle_register(self, register):
        pass

    @hookimpl
    def lle_commands(self):
        raise RuntimeError("commands exploded")

    @hookimpl
    def lle_inference_backends(self):
        return "not a list"


def test_commands_from_plugins_run_and_failures_stay_with_their_plugin(capsys):
    with temporary_plugin(Good(), plugin_id="good"), temporary_plugin(Broken(), plugin_id="bad"):
        hook = call_hook("lle_commands")
        assert [(pid, c.name) for pid, c in hook.results] == [
            ("good", "hello"), ("good", "enhance")]
        assert hook.errors == [("bad", "lle_commands: RuntimeError: commands exploded")]
        assert main(["hello", "--times", "2"]) == 3
        captured = capsys.readouterr()
        assert "hello hello" in captured.out
        assert "commands exploded" in captured.err
        assert "'enhance' is empty or already taken" in captured.err
    with pytest.raises(SystemExit):  # gone with its plugin: argparse's usage error
        main(["hello"])
    assert "invalid choice: 'hello'" in capsys.readouterr().err


def test_backends_from_plugins_and_the_core_onnx_backend():
    assert call_hook("lle_inference_backends").results[0][0] == "core"
    with temporary_plugin(Good(), plugin_id="good"), temporary_plugin(Broken(), plugin_id="bad"):
        found = inference_backends()
        assert found.by_name["onnxruntime"][0] == "core"
        assert found.by_name["echo"][0] == "good"
        assert any("'onnxruntime' is taken by 'core'" in p for p in found.problems)
        assert any("bad" in p and "must return a list" in p for p in found.problems)
        assert backend_names()[:1] == ["torch"] and "echo" in backend_names()
        assert load_backend("echo", "m.bin")[0] == "loaded"
    with pytest.raises(ConfigError, match="no backend 'echo'; installed: torch, onnxruntime"):
        load_backend("echo", "m.bin")


def test_enhance_cli_names_unknown_backends_and_missing_files(tmp_path, capsys):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    args = ["enhance", str(tmp_path / "x.png"), "-o", str(tmp_path / "o.png")]
    assert main([*args, "--backend", "nope", "--backend-file", "m"]) == 1
    assert "--backend: no backend 'nope'; installed: torch, onnxruntime" in capsys.readouterr().err
    assert main([*args, "--backend", "onnxruntime"]) == 1
    assert "--backend-file" in capsys.readouterr().err
