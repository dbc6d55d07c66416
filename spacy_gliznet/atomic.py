"""Writing a command's output so that it is never half-written and never an input
(a leaf: imports nothing of the package but its errors).

Every command that writes a pipeline, a checkpoint, a data folder or a file
(``adapt``, ``convert``, ``calibrate``, ``export``, ``interpolate``, ``init-model``,
``find-thresholds``, ``render``, ``init-config``, ``benchmark --output``,
``label-report --json``) does it in two steps:

1. :func:`check_output`, before any work: OUTPUT must not be, lie inside, or
   contain an input; an existing OUTPUT (a non-empty folder, or a file) is refused
   unless ``overwrite`` (the commands' ``--overwrite``); the folder OUTPUT goes into
   must be writable (probed by creating a file there: the check holds for root too).
2. :func:`atomic_folder` / :func:`atomic_file`: the command writes into a temporary
   folder or file beside OUTPUT (``.NAME.tmp-*``, same file system), which is
   renamed to OUTPUT when complete. Replacing is a rename too: the old OUTPUT is
   moved aside (``.NAME.old-*``), the new one renamed in, the old one removed.

A process killed at any point leaves OUTPUT absent, the old OUTPUT, or the complete
new one, and at worst a hidden ``.NAME.tmp-*`` (or, killed between the two renames
of a replace, ``.NAME.old-*`` holding the old OUTPUT) beside it. An error or Ctrl-C
inside the ``with`` block removes the temporary copy.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from .errors import GliZNetInputError

PathLike = Union[str, Path]


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output(output: PathLike, *, inputs: Iterable[Optional[PathLike]] = (),
                 overwrite: bool = False, folder: bool = True,
                 what: str = "OUTPUT") -> Path:
    """Refuse an output before any work is done; returns it as an absolute path.

    output: the folder (``folder=True``) or file a command will write.
    inputs: the paths the command reads (a pipeline, a data folder, a corpus file;
        None or paths that do not exist, e.g. ``"default"`` or a Hub id, are skipped).
        OUTPUT must not be one of them, lie inside one, or contain one.
    overwrite: allow an existing OUTPUT (a non-empty folder or a file) to be replaced.
    what: how the error names the output (e.g. ``"OUTPUT"`` or ``"--json"``).
    Raises GliZNetInputError saying what is wrong.
    """
    out = Path(os.path.abspath(os.path.expanduser(str(output))))
    real_out = Path(os.path.realpath(out))
    for given in inputs:
        if given is None or not Path(str(given)).exists():
            continue
        inp = Path(os.path.realpath(str(given)))
        if real_out == inp:
            raise GliZNetInputError(f"{what} {str(output)!r} is the input {str(given)!r}: "
                                    f"writing it would destroy what is read; choose another path")
        if inp in real_out.parents:
            raise GliZNetInputError(f"{what} {str(output)!r} lies inside the input "
                                    f"{str(given)!r}; choose a path outside it")
        if real_out in inp.parents:
            raise GliZNetInputError(f"{what} {str(output)!r} contains the input "
                                    f"{str(given)!r}; writing it would replace the input")
    if out.exists() or out.is_symlink():
        if folder and not out.is_dir():
            raise GliZNetInputError(f"{what} {str(output)!r} is a file, not a folder")
        if not folder and out.is_dir():
            raise GliZNetInputError(f"{what} {str(output)!r} is a folder, not a file")
        non_empty = not folder or any(out.iterdir())
        if non_empty and not overwrite:
            kind = "a non-empty folder" if folder else "a file"
            raise GliZNetInputError(f"{what} {str(output)!r} exists ({kind}); pass --overwrite "
                                    f"to replace it, or choose another path")
    parent = _nearest_existing(out.parent)
    if not parent.is_dir():
        raise GliZNetInputError(f"{what} {str(output)!r}: {str(parent)!r} is not a folder")
    try:  # a real probe: os.access says yes to root on a read-only file system
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as err:
        raise GliZNetInputError(f"{what} {str(output)!r}: cannot write in {str(parent)!r} "
                                f"({err.strerror or err})") from None
    return out


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace(new: Path, out: Path, overwrite: bool) -> None:
    """Rename ``new`` to ``out``; an existing ``out`` is moved aside first and removed
    after (refused when non-empty and not ``overwrite``)."""
    if out.is_dir() and not out.is_symlink():
        if any(out.iterdir()):
            if not overwrite:
                raise GliZNetInputError(f"{str(out)!r} appeared while writing; it was kept "
                                        f"(pass --overwrite to replace it)")
            old = Path(tempfile.mkdtemp(prefix=f".{out.name[:100]}.old-", dir=out.parent))
            os.rename(out, old / out.name)
            os.rename(new, out)
            shutil.rmtree(old, ignore_errors=True)
            return
        out.rmdir()
    elif out.exists() or out.is_symlink():
        if not overwrite:
            raise GliZNetInputError(f"{str(out)!r} appeared while writing; it was kept "
                                    f"(pass --overwrite to replace it)")
        if new.is_dir():
            os.unlink(out)
    os.replace(new, out)


@contextmanager
def atomic_folder(output: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``output`` to write into; renamed to ``output``
    when the block ends without an error, removed otherwise (see the module docstring)."""
    out = Path(os.path.abspath(os.path.expanduser(str(output))))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:100]}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would outlive the rename
    try:
        yield tmp
        _replace(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(output: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """A temporary file path beside ``output`` (same suffix) to write; renamed to
    ``output`` when the block ends without an error, removed otherwise."""
    out = Path(os.path.abspath(os.path.expanduser(str(output))))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name[:100]}.tmp-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would outlive the rename
    try:
        yield tmp
        _replace(tmp, out, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(output: PathLike, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to the file ``output`` atomically."""
    with atomic_file(output, overwrite) as tmp:
        tmp.write_text(text, encoding="utf8")
    return Path(output)
