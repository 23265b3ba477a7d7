"""Tuning and confirmation parts: k folds fixed by each item's name, disjoint, covering the set."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from bgremover.evaluation.split import FoldSpec, fold_of, parse_fold

NAMES = [f"sod_{i:06d}" for i in range(300)] + [f"horse_{i:03d}" for i in range(100)] + ["comp1k_golden_dog"]


def test_an_items_fold_depends_on_its_name_only():
    shuffled = random.Random(1).sample(NAMES, len(NAMES))
    assert {n: fold_of(n, 5) for n in NAMES} == {n: fold_of(n, 5) for n in shuffled}
    assert parse_fold("2/5").select(shuffled) == [n for n in shuffled if n in set(parse_fold("2/5").select(NAMES))]
    fewer = NAMES[:200]  # removing items does not move the others
    assert parse_fold("1/2").select(fewer) == [n for n in parse_fold("1/2").select(NAMES) if n in fewer]


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_the_folds_are_the_same_in_another_process_with_another_hash_seed(hash_seed):
    code = ("import json; from bgremover.evaluation.split import fold_of; "
            f"print(json.dumps([fold_of(n, 5) for n in {NAMES!r}]))")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [fold_of(n, 5) for n in NAMES]


def test_folds_are_disjoint_cover_the_set_and_are_not_lopsided():
    parts = [set(parse_fold(f"{i}/5").select(NAMES)) for i in range(5)]
    assert set().union(*parts) == set(NAMES)
    assert sum(len(p) for p in parts) == len(NAMES)
    assert all(50 <= len(p) <= 110 for p in parts)  # 80 expected each


@pytest.mark.parametrize("k", [2, 3, 5])
def test_the_tuning_part_is_the_complement_of_the_confirmation_part(k):
    for i in range(k):
        confirm, tune = set(parse_fold(f"{i}/{k}").select(NAMES)), set(parse_fold(f"~{i}/{k}").select(NAMES))
        assert confirm.isdisjoint(tune) and confirm | tune == set(NAMES) and confirm and tune


def test_one_fold_is_the_whole_set_and_the_spec_reads_back():
    assert parse_fold("0/1").select(NAMES) == NAMES
    assert str(parse_fold(" ~3/7 ")) == "~3/7" and parse_fold("~3/7") == FoldSpec(3, 7, complement=True)


@pytest.mark.parametrize("text", ["5/5", "-1/3", "2", "a/b", "1/0", "~/2"])
def test_a_malformed_fold_is_refused_with_the_form_it_takes(text):
    with pytest.raises(ValueError, match="I/K"):
        parse_fold(text)
