"""The command line as a whole: a description and defaults on every page, one way to report a missing
subcommand, one line and exit 2 for bad arguments, renamed flags that still work, and input checked
before torch or open_clip is imported."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from clipscale.cli import _STAGE_MODULES, build_parser, main

from .pages import examples, pages


PAGES = pages()


def test_every_command_and_subcommand_is_there_with_a_description():
    progs = {prog for prog, _ in PAGES}
    assert {f"clipscale {m}" for m in _STAGE_MODULES} <= progs
    assert {"clipscale study init", "clipscale study plan", "clipscale study run", "clipscale study status",
            "clipscale study report", "clipscale zoo list", "clipscale zoo download", "clipscale paper fit",
            "clipscale data prepare"} <= progs
    assert [prog for prog, p in PAGES if not p.description] == []


def test_every_command_shows_examples_that_parse():
    """Every command (or its subcommands) shows examples, and each parses: flags and choices exist."""
    with_examples = {prog.split()[1] for prog, p in PAGES if examples(p)}
    assert with_examples == set(_STAGE_MODULES)
    for prog, p in PAGES:
        for argv in examples(p):
            if argv[0] == "torchrun":
                argv = argv[argv.index("clipscale") + 1:]
            else:
                argv = argv[1:]
            build_parser(only=argv[0]).parse_args(argv)  # SystemExit (a one-line error) if one does not


def test_every_default_is_shown_in_help():
    missing = []
    for prog, parser in PAGES:
        page = parser.format_help()
        for action in parser._actions:
            default = action.default
            if (not action.option_strings or default in (None, False, argparse.SUPPRESS, []) or action.help in
                    (None, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction)):
                continue
            text = parser._get_formatter()._expand_help(action) if "%(" in (action.help or "") else action.help
            shown = parser.formatter_class(prog)._get_help_string(action)
            if "default" not in (text + shown).lower():
                missing.append(f"{prog} {action.option_strings[0]}")
        assert "==SUPPRESS==" not in page
    assert missing == []


@pytest.mark.parametrize("argv", [[], ["zoo"], ["data"], ["paper"], ["study"]])
def test_a_missing_subcommand_is_one_line_naming_the_choices(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("clipscale: error: ") and "valid choices" in err
    assert "worker" not in err  # internal


def test_a_typo_of_a_command_says_what_was_meant(capsys):
    assert main(["comptue", "ViT-B-32"]) == 2
    assert "did you mean 'compute'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["fit", "r.csv", "--n-boot", "-3"],
    ["report", "r.csv", "--out", "o", "--n-boot", "-1"],
    ["paper", "fit", "--out", "f.csv", "--n-boot", "-1"],
    ["study", "run", "s.toml", "--jobs", "0"],
    ["study", "run", "s.toml", "--threads", "-2"],
    ["demo", "--jobs", "0"],
    ["eval", "--arch", "ladder-xs", "--limit", "0"],
    ["eval", "--arch", "ladder-xs", "--batch-size", "-8"],
    ["train", "--arch", "ladder-xs", "--data-size", "0", "--samples-seen", "512", "--out", "r"],
    ["train", "--arch", "ladder-xs", "--data-size", "256", "--samples-seen", "512", "--checkpoints", "0", "--out", "r"],
    ["finetune", "runs/x", "--task", "digits", "--out", "o", "--epochs", "0"],
    ["finetune", "runs/x", "--task", "digits", "--out", "o", "--lr", "-1"],
    ["classify", "a.png", "--model", "ViT-B-32", "--top", "0"],
    ["data", "prepare", "urls.txt", "--out", "o", "--processes", "0"],
    ["plan", "--fit", "f.json", "--compute", "-5"],
    ["zoo", "download", "--model", "ViT-B-32", "--epoch", "0"],
])
def test_zero_or_negative_counts_are_one_line_and_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("clipscale: error: ") and "must be" in err, err


BASE = {"train": ["--data-size", "256", "--out", "r"], "plan": ["--fit", "f.json"], "eval": [],
        "data": ["prepare", "u.txt", "--out", "o"]}


@pytest.mark.parametrize("command, old, new, dest, value", [
    ("train", ["--model", "ladder-e-xs"], ["--arch", "ladder-e-xs"], "model", "ladder-e-xs"),
    ("train", ["--arch", "ladder-xs", "--epochs", "3"], ["--arch", "ladder-xs", "--checkpoints", "3"], "epochs", 3),
    ("train", ["--arch", "ladder-xs", "--no-progress"], ["--arch", "ladder-xs", "--quiet"], "quiet", True),
    ("eval", ["--dataset-root", "d"], ["--data-root", "d"], "data_root", "d"),
    ("plan", ["--budget", "1e4"], ["--compute", "1e4"], "budget", [1e4]),
    ("plan", ["--compute", "1", "--level", "0.9"], ["--compute", "1", "--ci-level", "0.9"], "level", 0.9),
    ("data", ["--threads", "4"], ["--download-threads", "4"], "threads", 4),
    ("data", ["--no-progress"], ["--quiet"], "quiet", True),
])
def test_renamed_flags_still_work_and_say_their_new_name(command, old, new, dest, value, capsys):
    parser = build_parser(only=command)
    renamed_flag = next(a for a in old if a.startswith("--") and a not in new)
    new_flag = next(a for a in new if a.startswith("--") and a not in old)
    by_old = parser.parse_args([command, *BASE[command], *old])
    err = capsys.readouterr().err
    assert getattr(by_old, dest) == value
    assert err.count("\n") == 1 and f"{renamed_flag} is renamed {new_flag}" in err
    by_new = parser.parse_args([command, *BASE[command], *new])
    assert getattr(by_new, dest) == value and capsys.readouterr().err == ""


def _fails_fast(args: list[str], tmp_path) -> str:
    """Run `clipscale ARGS` in a fresh interpreter; assert exit 2, one line, and neither torch nor
    open_clip imported; return the line."""
    code = ("import sys\nfrom clipscale.cli import main\nrc = main(sys.argv[1:])\n"
            "heavy = [m for m in ('torch', 'open_clip') if m in sys.modules]\n"
            "print('HEAVY' + ','.join(heavy) if heavy else 'LIGHT', rc)")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert out.stdout.split() == ["LIGHT", "2"], (args, out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1, out.stderr
    return out.stderr


def test_typos_missing_files_and_bad_budgets_fail_before_torch_is_imported(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[axes]\nmodel = ["ladder-xs"]\ndata_size = [256]\nsamples_seen = [512]\n')
    (tmp_path / "a.png").write_bytes(b"x")
    assert "did you mean 'ViT-B-32'" in _fails_fast(["compute", "ViT-B-23"], tmp_path)
    assert "did you mean 'ladder-xs'" in _fails_fast(["train", "--arch", "ladder-xz", "--data-size", "256",
                                                      "--samples-seen", "512", "--out", "r"], tmp_path)
    assert "did you mean 'embedded/objects'" in _fails_fast(["eval", "--arch", "ladder-xs", "--tasks",
                                                             "embedded/objcts"], tmp_path)
    assert "not found" in _fails_fast(["eval", "--pretrained", "/nope.pt", "--arch", "ladder-xs"], tmp_path)
    assert "not found" in _fails_fast(["finetune", "/nope.pt", "--task", "digits", "--out", "o"], tmp_path)
    assert "did you mean 'Model-B-32_Data-80M_Samples-3B_lr-5e-4_bs-32k'" in _fails_fast(
        ["finetune", "Model-B-32_Data-80M_Samples-3B_lr-5e-4_bs-32", "--task", "digits", "--out", "o"], tmp_path)
    assert "not found" in _fails_fast(["classify", "a.png", "--pretrained", "/nope.pt"], tmp_path)
    assert "no file and no comma-separated list" in _fails_fast(
        ["classify", "a.png", "--model", "ViT-B-32", "--data", "80M", "--samples-seen", "3B", "--labels", "cat"],
        tmp_path)
    assert "not a positive duration" in _fails_fast(["study", "plan", str(spec), "--budget", "abc"], tmp_path)
    assert "not a positive duration" in _fails_fast(["demo", "--budget", "0m"], tmp_path)
    assert "no task given" in _fails_fast(["eval", "--arch", "ladder-xs", "--tasks", " , "], tmp_path)
    (tmp_path / "bad.toml").write_text('[axes]\nmodel = ["ViT-B-23"]\ndata_size = [256]\nsamples_seen = [512]\n')
    assert "did you mean 'ViT-B-32'" in _fails_fast(["study", "plan", str(tmp_path / "bad.toml")], tmp_path)
