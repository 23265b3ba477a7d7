"""Exact int8 arithmetic on every x86 CPU, and whether this one runs it fast.

onnxruntime multiplies uint8 activations by int8 weights with VPMADDUBSW on x86 CPUs without VNNI (AVX2, and
AVX-512 before VNNI). That instruction adds pairs of products into 16 bits and saturates, so on such a CPU
U²-Net's int8 map differed from fp32 by 0.23 on average (map values 0–1) where the same file on a VNNI CPU, or
the same arithmetic done exactly, differs by 0.008: a visibly broken cut-out that depends on the machine.
``session.x64quantprecision = 1`` makes onnxruntime convert the weights to uint8 and use its exact U8U8 kernels;
every session we open on such a CPU sets it. Not on a VNNI CPU, whose kernels are exact already: there it made
U²-Net-p int8 run in 224 ms instead of 100 ms (2-core AMD EPYC with AVX-512 VNNI), as slow as fp32. The price on
a CPU without VNNI is speed: exact int8 U²-Net then ran about as fast as fp32 (0.80–1.02 s against 1.08 s on a
2-core AVX2 EPYC), so there the int8 presets buy memory, not time, and a loaded int8 model says so in the log.

The layers a recipe keeps fp32 must stay fp32 as well: onnxruntime's ``WeightBiasQuantization`` pass gives every
Conv that reads a dequantized activation int8 weights of its own, one scale for the whole tensor, which are exactly
those layers. With it, U²-Net-p with an fp32 decoder differed from fp32 by 0.23, without it by 0.006; every
session we open turns it off (:func:`session_kwargs`); an fp32 model has nothing for it to do.
"""
from __future__ import annotations

import platform
from typing import Any

EXACT_INT8 = ("session.x64quantprecision", "1")
UNWANTED_OPTIMIZERS = ("WeightBiasQuantization",)  # it would quantize the recipe's fp32 layers per tensor
FAST_INT8_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8"}  # /proc/cpuinfo names of the non-saturating paths


def cpu_flags() -> set[str]:
    """The instruction-set flags /proc/cpuinfo lists for this CPU (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            line = next((ln for ln in f if ln.startswith(("flags", "Features"))), "")
    except OSError:
        return set()
    return set(line.partition(":")[2].split())


def exact_int8(options: Any, fast: bool | None = None) -> Any:
    """``options`` (onnxruntime.SessionOptions) with exact int8 kernels asked for where this CPU's fast ones
    saturate (``fast``: whether they do not, :func:`int8_is_fast` by default); returned for chaining."""
    if not (int8_is_fast() if fast is None else fast):
        options.add_session_config_entry(*EXACT_INT8)
    return options


def session_kwargs() -> dict[str, Any]:
    """Keyword arguments for every ``onnxruntime.InferenceSession`` we open: keep_fp32 layers stay fp32."""
    return {"disabled_optimizers": list(UNWANTED_OPTIMIZERS)}


def int8_is_fast(flags: set[str] | None = None, machine: str | None = None) -> bool:
    """Whether int8 runs fast *and* exact here: off x86 (ARM's kernels do not saturate), or with VNNI or AMX."""
    machine = (machine or platform.machine()).lower()
    if machine not in {"x86_64", "amd64", "i386", "i686", "x86"}:
        return True
    return bool((cpu_flags() if flags is None else flags) & FAST_INT8_FLAGS)
