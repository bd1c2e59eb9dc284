"""Which image files a batch run reads and where each result goes.

:func:`expand_inputs` turns files, folders and glob patterns into image files;
:func:`output_paths` gives each one a distinct output file; :func:`check_overwrites` refuses
outputs that would replace an input; :func:`prepare_output_folders` creates the folders before
any work. :func:`lle_core.inference.enhance_files` uses all four; ``lle enhance`` too.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from PIL import Image

from lle_core.errors import ConfigError, ImageReadError, OutputError
from lle_core.files import fit_name, remove_orphaned_temporaries
from lle_core.io import WRITE_EXTENSIONS, is_image_file, list_images


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Image files named by files, folders (their images) and glob patterns, in order.

    A file named twice is listed once.

    Raises:
        ImageReadError: An input matches nothing.
    """
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        text = str(item)
        if p.is_dir():
            matches = list_images(p)
        elif p.is_file():
            matches = [p]
        elif any(c in text for c in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
            matches = [m for m in matches if m.is_file() and is_image_file(m)]
        else:
            raise ImageReadError(f"input not found: {text}")
        if not matches:
            raise ImageReadError(f"no images in {text}")
        found.extend(m for m in matches if m not in found)
    return found


def output_format(suffix: str, where: str) -> str:
    """Lower-case suffix (with dot) of a format lle writes.

    Raises:
        ConfigError: lle cannot write ``suffix`` (keyed by ``where``).
    """
    ext = "." + suffix.lower().lstrip(".")
    if ext not in WRITE_EXTENSIONS:
        raise ConfigError(
            [(where, f"lle cannot write {ext} images; use one of "
              + ", ".join(e.lstrip(".") for e in sorted(WRITE_EXTENSIONS)))]
        )
    return ext


def names_a_file(out: Path) -> bool:
    """Whether ``out`` names an image file (an image suffix, any format pillow knows)."""
    if out.is_dir():
        return False
    suffix = out.suffix.lower()
    return suffix in WRITE_EXTENSIONS or suffix in Image.registered_extensions()


def output_paths(inputs: Sequence[Path], out: Path, ext: str | None = None) -> list[Path]:
    """Where each result goes, one distinct file per input.

    ``out`` itself for one input and an ``out`` with an image suffix, else
    ``out/<stem>.<ext>`` (``ext`` default ``png``); inputs sharing a stem get
    ``<parent>_<stem>``, and any name still taken (case-insensitively) gets ``_2``, ``_3``...
    A name longer than the file system allows is shortened with a hash of the whole
    (:func:`lle_core.files.fit_name`), so distinct inputs keep distinct outputs.

    Raises:
        ConfigError: ``out``/``ext`` name a format lle cannot write (``x.gif``), or several
            inputs go to one file.
    """
    if ext is not None:
        ext = output_format(ext, "ext")
    if names_a_file(out):
        output_format(out.suffix, "out")
        if len(inputs) != 1:
            raise ConfigError([("out", f"{len(inputs)} inputs need an output folder, not {out}")])
        return [out]
    suffix = ext or ".png"
    stems = [p.stem.lower() for p in inputs]
    taken: set[str] = set()
    paths = []
    for p in inputs:
        base = p.stem if stems.count(p.stem.lower()) == 1 else f"{p.parent.name}_{p.stem}"
        name, n = fit_name(base, keep=suffix), 1
        while name.lower() in taken:
            n += 1
            name = fit_name(f"{base}_{n}", keep=suffix)
        taken.add(name.lower())
        paths.append(out / name)
    return paths


def same_file_key(path: Path) -> str:
    """A key equal for two paths naming one file (links resolved, case folded where the OS does)."""
    return os.path.normcase(os.path.realpath(path))


def check_overwrites(inputs: Sequence[Path], targets: Sequence[Path], *, overwrite: bool) -> None:
    """Refuse outputs that would replace an input.

    An output may replace its *own* input only with ``overwrite`` (the input is read before
    the output is written); it never replaces another input (that one would be read after
    being overwritten).

    Raises:
        ConfigError: Names each output that is an input (the first ten), keyed ``out``.
    """
    owner = {same_file_key(src): i for i, src in enumerate(inputs)}
    problems = []
    for i, dst in enumerate(targets):
        j = owner.get(same_file_key(dst))
        if j is None or (j == i and overwrite):
            continue
        why = (
            "is that input; pass overwrite (--overwrite) to enhance in place" if j == i
            else f"is another input ({inputs[j]}), which would be read after being replaced"
        )
        problems.append(("out", f"{dst} (the result of {inputs[i]}) {why}"))
    if problems:
        extra = len(problems) - 10
        problems = problems[:10] + ([("out", f"... and {extra} more")] if extra > 0 else [])
        raise ConfigError(problems)


def check_output_folder(
    inputs: Sequence[Path], targets: Sequence[Path], out: Path, *, overwrite: bool
) -> None:
    """Refuse an output *folder* that holds inputs, unless every result replaces its own input.

    Results written next to the photos they come from would be taken as inputs by the next
    run of the same command (``lle enhance dir -o dir`` with JPEG inputs and PNG outputs):
    that is allowed only in place (``overwrite``, each output being its own input). An output
    named as a file (``-o x.png``) is the user's explicit choice and not checked here.

    Raises:
        ConfigError: Names the folder and its first input, keyed ``out``.
    """
    if names_a_file(out):
        return
    folder = same_file_key(out)
    for src, dst in zip(inputs, targets, strict=True):
        if same_file_key(src.parent) != folder:
            continue
        if overwrite and same_file_key(dst) == same_file_key(src):
            continue
        hint = ("choose another output folder" if overwrite else
                "choose another output folder, or enhance in place with --overwrite and "
                f"--ext {src.suffix.lstrip('.').lower() or 'png'}")
        raise ConfigError([("out", (
            f"{out} holds the input {src}: its result {dst.name} would be enhanced again by the "
            f"next run; {hint}"
        ))])


def prepare_output_folders(targets: Iterable[Path]) -> None:
    """Create the folders of ``targets`` now, so that a bad output fails before any work.

    Temporary files that a killed earlier run left there are removed
    (:func:`lle_core.files.remove_orphaned_temporaries`: only those of dead processes).

    Raises:
        OutputError: A folder cannot be created (a file is in the way, no permission).
    """
    for folder in dict.fromkeys(t.parent for t in targets):
        blocker = next(
            (a for a in (folder, *folder.parents) if a.exists() and not a.is_dir()), None
        )
        if blocker is not None:
            raise OutputError(f"cannot create the output folder {folder}: {blocker} is a file")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            reason = err.strerror or str(err)
            raise OutputError(f"cannot create the output folder {folder}: {reason}") from None
        remove_orphaned_temporaries(folder)  # left by a killed earlier run


__all__ = [
    "check_output_folder",
    "check_overwrites",
    "expand_inputs",
    "names_a_file",
    "output_format",
    "output_paths",
    "prepare_output_folders",
    "same_file_key",
]
