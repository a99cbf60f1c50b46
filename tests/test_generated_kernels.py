"""Generated kernel modules (hubel/backends/kernels/generated.py): written once under the
kernel directory by the hash of their text, imported from the file, reused in-process,
and a directory that cannot be made falls back to a temporary one."""

import ast
import tempfile
from pathlib import Path

import pytest

from hubel.backends.kernels import generated


def test_load_writes_the_source_once_and_imports_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HUBEL_KERNEL_DIR", str(tmp_path / "kernels"))
    source = "VALUE = 41\n\ndef answer():\n    return VALUE + 1\n"
    module = generated.load("probe", source)
    assert module.answer() == 42
    files = list((tmp_path / "kernels").glob("probe_*.py"))
    assert len(files) == 1 and files[0].read_text() == source
    assert Path(module.__file__) == files[0]
    assert generated.load("probe", source) is module  # (in-process: the same module)
    other = generated.load("probe", source.replace("41", "1"))
    assert other.answer() == 2 and len(list((tmp_path / "kernels").glob("probe_*.py"))) == 2
    assert not list((tmp_path / "kernels").glob(".*.tmp"))  # (renamed into place)


def test_a_kernel_dir_that_cannot_be_made_falls_back_to_the_temporary_directory(
        tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("HUBEL_KERNEL_DIR", str(blocker / "kernels"))  # (under a file)
    module = generated.load("fallback_probe", "X = 3\n")
    assert module.X == 3
    assert Path(module.__file__).parent.parent == Path(tempfile.gettempdir())


def test_a_module_that_fails_to_import_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HUBEL_KERNEL_DIR", str(tmp_path))
    with pytest.raises(ZeroDivisionError):
        generated.load("broken_probe", "X = 1 / 0\n")
    with pytest.raises(ZeroDivisionError):  # (tried again, not served half-made)
        generated.load("broken_probe", "X = 1 / 0\n")


def test_direct_kernel_source_writes_out_every_tap_for_a_block_of_rows():
    direct = pytest.importorskip("hubel.backends.kernels.direct_numba")
    assert [direct.rows_per_pass(k, k) for k in (1, 3, 5, 7, 11)] == [8, 8, 4, 2, 1]
    source = direct.kernel_source(5, 5, 6, 28)
    ast.parse(source)
    # 4 rows x 25 taps of multiply-adds in the forward block, 25 accumulators in the
    # gradient's; row lengths as constants (28·6 and 32·6)
    assert source.count("* w\n") == 4 * 25 + 25
    assert source.count("af[uint64(") == 2 * 25
    assert "L, W = 168, 192" in source
