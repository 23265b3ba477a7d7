"""Cold start: a real process timed from spawn to file on disk, and the import log read right."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bgremover.benchmark.cold_start import ColdCommand, measure_cold_start, profile_phases, rank_imports, run_once
from bgremover.benchmark.measure import BenchmarkFailed

# python -X importtime prints children before their parent, two spaces deeper per level
IMPORT_LOG = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |     numpy.core
import time:       200 |        300 |   numpy
import time:       400 |        700 | cv2
import time:        50 |        50 |   numpy.linalg
import time:      1000 |       1050 | pydantic
import time:        10 |      2000 | app
"""


def test_imports_are_ranked_by_the_time_each_package_adds() -> None:
    ranked = dict(rank_imports(IMPORT_LOG, skip="app"))
    # numpy is entered twice from other packages (cv2, pydantic); its own sub-modules do not add again
    assert list(ranked) == ["pydantic", "cv2", "numpy"]
    assert ranked == pytest.approx({"pydantic": 1050e-6, "cv2": 700e-6, "numpy": 350e-6})
    assert [k for k, _ in rank_imports(IMPORT_LOG, skip="app", top=1)] == ["pydantic"]


def _writer(out: Path, sleep: float = 0.0) -> ColdCommand:
    code = f"import time, sys; time.sleep({sleep}); open(sys.argv[1], 'wb').write(b'x')"
    return ColdCommand("writer", [sys.executable, "-c", code, str(out)], out)


def test_cold_start_times_a_process_until_its_output_is_on_disk(tmp_path: Path) -> None:
    (res,) = measure_cold_start([_writer(tmp_path / "o.bin", 0.2)], runs=2)
    assert len(res.seconds) == 2 and min(res.seconds) >= 0.2 and res.median >= 0.2


def test_a_command_that_leaves_no_output_fails(tmp_path: Path) -> None:
    cmd = ColdCommand("silent", [sys.executable, "-c", "pass"], tmp_path / "never.png")
    with pytest.raises(BenchmarkFailed, match="missing"):
        run_once(cmd)


@pytest.mark.slow
def test_our_cold_start_is_split_into_phases(remover, tmp_path: Path) -> None:
    from PIL import Image

    from bgremover.benchmark.workload import generated_scene

    src = tmp_path / "in.jpg"
    Image.fromarray(generated_scene(120, 160)).save(src)
    phases = profile_phases("bg-remover-fast", src, tmp_path / "out.png")
    assert list(phases) == ["interpreter", "import_cli", "import_engine", "settings_catalog", "model_load",
                            "first_cutout"]
    assert all(v >= 0 for v in phases.values()) and (tmp_path / "out.png").stat().st_size > 0
