"""bf16 detection: the measurement decides, flags are a hint; MFU peak follows the precision used."""

import pytest

from clipscale.train.precision import bf16_warning, cpu_flags, detect_bf16, matmul_gflops


def test_emulated_bf16_is_not_native_and_warns():
    support = detect_bf16(fp32_gflops=100.0, bf16_gflops=30.0, flags={"avx2"})
    assert not support.native and not support.flag_hint
    assert support.peak_gflops("bf16") == 100.0  # MFU against fp32's peak: never above 100%
    line = bf16_warning(support)
    assert line is not None and "\n" not in line and "no native bf16" in line


def test_flag_without_speed_is_not_native():
    support = detect_bf16(fp32_gflops=100.0, bf16_gflops=90.0, flags={"avx512_bf16"})
    assert support.flag_hint and not support.native


def test_faster_bf16_is_native_and_silent():
    support = detect_bf16(fp32_gflops=100.0, bf16_gflops=250.0, flags={"amx_bf16"})
    assert support.native and support.ratio == 2.5
    assert support.peak_gflops("bf16") == 250.0 and support.peak_gflops("fp32") == 100.0
    assert bf16_warning(support) is None


def test_cpu_flags_parses_cpuinfo_text():
    text = "processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16\n\nprocessor\t: 1\nflags\t: fpu\n"
    assert cpu_flags(text) == {"fpu", "sse2", "avx512_bf16"}
    assert cpu_flags("nothing here") == set()


def test_matmul_measurement_is_positive():
    assert matmul_gflops("float32", size=64, repeats=2) > 0


class _Result:
    def to_dict(self):
        return {"ok": True}


def _fake_train(calls):
    def train(spec, out, resume=False, progress=True):
        calls.append(spec.precision)
        return _Result()
    return train


def test_train_cli_warns_once_on_emulated_bf16_and_proceeds(monkeypatch, capsys, tmp_path):
    import clipscale.train
    import clipscale.train.precision as precision
    from clipscale.cli import main

    calls = []
    monkeypatch.setattr(clipscale.train, "train", _fake_train(calls))
    monkeypatch.setattr(precision, "detect_bf16", lambda: precision.Bf16Support(100.0, 30.0, False))
    rc = main(["train", "--arch", "ladder-xs", "--data-size", "256", "--samples-seen", "256",
               "--precision", "bf16", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 0 and calls == ["bf16"]
    assert err.count("no native bf16") == 1


def test_train_cli_silent_on_native_bf16(monkeypatch, capsys, tmp_path):
    import clipscale.train
    import clipscale.train.precision as precision
    from clipscale.cli import main

    calls = []
    monkeypatch.setattr(clipscale.train, "train", _fake_train(calls))
    monkeypatch.setattr(precision, "detect_bf16", lambda: precision.Bf16Support(100.0, 250.0, True))
    rc = main(["train", "--arch", "ladder-xs", "--data-size", "256", "--samples-seen", "256",
               "--precision", "bf16", "--out", str(tmp_path / "r")])
    assert rc == 0 and calls == ["bf16"]
    assert "native bf16" not in capsys.readouterr().err


def test_matmul_gflops_times_for_at_least_min_s_after_warmup():
    ticks = iter(range(10 ** 6))  # every clock() reading advances 1 ms
    read = []

    def clock():
        read.append(next(ticks))
        return read[-1] * 1e-3

    g = matmul_gflops("float32", size=8, repeats=2, clock=clock, min_s=0.05)
    assert read[-1] >= 50  # kept timing past min_s, not just `repeats` calls
    assert g == pytest.approx(2 * 8 ** 3 / 1e-3 / 1e9)  # best call: one 1 ms tick
