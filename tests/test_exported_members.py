"""The package's public surface is exactly ``__all__``, and importing it stays cheap."""
import subprocess
import sys

import bgremover


def test_every_public_name_resolves():
    for name in bgremover.__all__:
        assert getattr(bgremover, name) is not None


def test_import_does_not_load_the_engine():
    code = "import sys, bgremover; print('onnxruntime' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
