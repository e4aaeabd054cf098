"""Count the code-health figures of issue 27 in a source tree (prints figures; not a test).

    python benchmarks/bench_code_health.py [SRC]        # default: src/clipscale of this checkout
    python benchmarks/bench_code_health.py /tmp/base/src/clipscale   # e.g. another commit's tree

Counted by reading the code (ast and tokenize; nothing is imported or run):
- ambiguous words: uses (names, attributes, keywords, string literals) of each word that meant two
  things or had two spellings before issue 27 (the evaluation kind, the law's parameters, the
  held-out split, checkpoints per run), and the functions that take the held-out split as loose
  keyword arguments;
- private cross-module reaches: `from m import _x` or `m._x` where `m` is another module (of the
  package, or a third-party one, counted apart; a `_module` itself imported by its own package is
  not counted; dunder names are not);
- functions (and methods) over 50 lines;
- bootstrap literals: a positive number given as a bootstrap count outside its one home
  (clipscale/laws/defaults.py): `n_boot=200` keywords, `n_boot: int = 1000` defaults, `X_N_BOOT = 200`
  assignments and `--n-boot` options with a numeric default;
- JSON cleaners: functions that map non-finite floats to None or a string (an `a if isfinite(x) else
  None` expression) outside the one rule, clipscale._io.json_clean;
- folder-name literals outside their home module: string literals that name a file or folder of a
  study folder or a run folder (plan.json, runs/, done.json, trunk/, ...), counted outside
  study/store.py (the study folder), train/run.py and train/branches.py (the run folder),
  report/__init__.py (the report folder's own files) and evaluate/transfer.py (a fine-tune folder's).
"""
from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from collections import Counter
from pathlib import Path

#: word -> what it names (one line of the table)
WORDS = {
    "task": "eval kind / dataset / registry name",
    "eval_type": "eval kind (report)",
    "EVAL_COL": "eval kind column constant",
    "fit_task": "headline dataset",
    "beta": "FitResult coefficient / JointFit exponent",
    "e_inf": "FitResult floor",
    "E_inf": "JointFit floor",
    "cutoff": "held-out split above a compute",
    "holdout_above": "held-out split above a compute",
    "holdout_top_frac": "held-out split, fraction",
    "holdout_top": "held-out split, count",
    "checkpoints": "checkpoints per run (TrainSettings) / folder",
}
SPLIT_ARGS = {"holdout_top_frac", "holdout_top", "holdout_above", "cutoff"}
MAX_LINES = 50
FILE_NAMES = ("plan.json", "spec.json", "study.json", "summary.json", "fits.csv", "fits.json", "results.csv",
              "curves.csv", "done.json", "top_level.json", "metrics.jsonl", "branches.json", "design.jsonl",
              "meta.json", "progress.json")
DIR_NAMES = ("runs", "status", "results", "report", "trunk", "checkpoints", "logs", "locks", "slurm")
#: where a folder's names live: the study folder, the run folder and a cool-down grid's folder, the
#: report's own folder, and a fine-tune output folder (clipscale finetune --out)
HOMES = ("study/store.py", "train/run.py", "train/branches.py", "report/__init__.py", "evaluate/transfer.py")
BOOT_HOME = "laws/defaults.py"
JSON_HOME = "_io.py"
#: functions the JSON-cleaner pattern matches that write no JSON: None there is a value's meaning
#: (unknown, unbounded, not identified) or the str() is display text. Listed with the reason, counted apart.
NOT_JSON = {
    "clipscale.design.replay._group": "None = the run's unique data is unknown (a Candidate field)",
    "clipscale.design.strategy._finite": "None = the law's interval is not identified (a decision's value)",
    "clipscale.laws._perrun_opt.polish": "None = an unbounded side (scipy's L-BFGS-B bounds)",
    "clipscale.laws.noise.unique_samples": "None = the table does not say the unique samples",
    "clipscale.laws.trust._g": "str(inf) is display text of a warning line",
    "clipscale.report._answer.next_model_answer": "None = no unique-data column (a law argument)",
}


def modules(root: Path) -> dict[str, Path]:
    """dotted module name -> path, for every .py file under `root` (a package folder)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def word_counts(trees: dict[str, tuple[ast.AST, str]]) -> Counter:
    """Uses of each WORDS entry: identifiers (names, attributes, parameters, keywords, imports) and
    string literals equal to it (docstrings and comments are prose, not counted)."""
    c: Counter = Counter()
    for tree, _src in trees.values():
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for n in ast.walk(tree):
            names = []
            if isinstance(n, ast.Name):
                names = [n.id]
            elif isinstance(n, ast.Attribute):
                names = [n.attr]
            elif isinstance(n, ast.arg):
                names = [n.arg]
            elif isinstance(n, ast.keyword) and n.arg:
                names = [n.arg]
            elif isinstance(n, ast.alias):
                names = [n.asname or n.name.split(".")[-1]]
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                names = [n.name]
            elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs:
                names = [n.value]
            for name in names:
                if name in WORDS:
                    c[name] += 1
    return c


def split_signatures(trees) -> list[str]:
    """Functions that take the held-out split as loose keyword arguments."""
    out = []
    for mod, (tree, _src) in trees.items():
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = {a.arg for a in n.args.args + n.args.kwonlyargs}
                if args & SPLIT_ARGS:
                    out.append(f"{mod}.{n.name}")
    return out


def private_reaches(trees, mods: dict[str, Path]) -> list[str]:
    """`from m import _x` and `alias._x` (alias bound to another module of the package)."""
    out = []
    for mod, (tree, _src) in trees.items():
        aliases: dict[str, str] = {}
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                for a in n.names:
                    if a.name in mods and a.asname:
                        aliases[a.asname] = a.name
            elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
                for a in n.names:
                    full = f"{n.module}.{a.name}"
                    if full in mods:  # `from pkg import module as alias`
                        aliases[a.asname or a.name] = full
                    elif _private(a.name) and n.module != mod:
                        out.append(f"{mod}: from {n.module} import {a.name}")
        for n in ast.walk(tree):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and _private(n.attr):
                target = aliases.get(n.value.id)
                if target is not None and target != mod:
                    out.append(f"{mod}: {target}.{n.attr}")
    return sorted(set(out))


def _internal(reach: str) -> bool:
    """A reach 'mod: target' (or 'mod: from target import _x') whose target is a clipscale module."""
    target = reach.split(": ", 1)[1].removeprefix("from ")
    return target.startswith("clipscale.")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def long_functions(trees) -> list[tuple[int, str]]:
    out = []
    for mod, (tree, _src) in trees.items():
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = n.end_lineno - n.lineno + 1
                if lines > MAX_LINES:
                    out.append((lines, f"{mod}.{n.name}"))
    return sorted(out, reverse=True)


def boot_literals(trees, mods) -> list[str]:
    out = []
    for mod, (tree, _src) in trees.items():
        if str(mods[mod]).endswith(BOOT_HOME):
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.keyword) and n.arg == "n_boot" and _positive(n.value):
                out.append(f"{mod}:{n.value.lineno} n_boot={n.value.value}")
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = n.args
                pos = list(zip(a.args[len(a.args) - len(a.defaults):], a.defaults))
                for arg, default in pos + list(zip(a.kwonlyargs, a.kw_defaults)):
                    if arg.arg == "n_boot" and default is not None and _positive(default):
                        out.append(f"{mod}:{default.lineno} def {n.name}(n_boot={default.value})")
            elif isinstance(n, ast.Assign) and _positive(n.value):
                for t in n.targets:
                    if isinstance(t, ast.Name) and "N_BOOT" in t.id:
                        out.append(f"{mod}:{n.lineno} {t.id} = {n.value.value}")
            elif isinstance(n, ast.Assign) and isinstance(n.value, ast.Tuple) and isinstance(n.targets[0], ast.Tuple):
                for t, v in zip(n.targets[0].elts, n.value.elts):
                    if isinstance(t, ast.Name) and "N_BOOT" in t.id and _positive(v):
                        out.append(f"{mod}:{n.lineno} {t.id} = {v.value}")
            elif isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Constant) \
                    and n.args[0].value == "--n-boot":
                for k in n.keywords:
                    if k.arg == "default" and _positive(k.value):
                        out.append(f"{mod}:{n.lineno} --n-boot default={k.value.value}")
    return out


def _positive(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool) and node.value > 0


def json_cleaners(trees, mods) -> list[str]:
    """Functions holding `a if isfinite/isnan(x) else None|str(..)` (or the mirror) outside _io."""
    out = []
    for mod, (tree, _src) in trees.items():
        if str(mods[mod]).endswith(JSON_HOME) and mods[mod].parent.name == "clipscale":
            continue
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for n in ast.walk(fn):
                if isinstance(n, ast.IfExp) and _finite_test(n.test) and (_none_or_str(n.body) or _none_or_str(n.orelse)):
                    out.append(f"{mod}.{fn.name}")
                    break
    return sorted(set(out))


def _finite_test(node) -> bool:
    return any(isinstance(c, ast.Attribute) and c.attr in ("isfinite", "isnan", "isinf") for c in ast.walk(node))


def _none_or_str(node) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str"


def folder_literals(trees, mods) -> list[str]:
    """String literals naming a study- or run-folder file or folder, outside the home modules."""
    names = "|".join(re.escape(f) for f in FILE_NAMES)
    file_re = re.compile(rf"(^|/)({names})$")
    dir_re = re.compile(rf"^({'|'.join(DIR_NAMES)})(/|$)")
    out = []
    for mod, (tree, _src) in trees.items():
        if any(str(mods[mod]).endswith(h) for h in HOMES):
            continue
        parents = {}
        for n in ast.walk(tree):
            for child in ast.iter_child_nodes(n):
                parents[id(child)] = n
        for n in ast.walk(tree):
            if not (isinstance(n, ast.Constant) and isinstance(n.value, str)):
                continue
            parent = parents.get(id(n))
            if file_re.search(n.value):
                out.append(f"{mod}:{n.lineno} {n.value!r}")
            elif dir_re.match(n.value) and (_in_path_expr(parent, n) or "/" in n.value):
                out.append(f"{mod}:{n.lineno} {n.value!r}")
    return out


def _in_path_expr(parent, node) -> bool:
    """The literal is an operand of `/` (a pathlib join) or of a JoinedStr glob pattern."""
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div):
        return True
    return isinstance(parent, ast.JoinedStr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent.parent / "src" / "clipscale"
    ap.add_argument("src", nargs="?", type=Path, default=here, help="the clipscale package folder")
    ap.add_argument("--list", action="store_true", help="also list every counted place")
    args = ap.parse_args()
    mods = modules(args.src)
    trees = {}
    for mod, path in mods.items():
        src = path.read_text()
        trees[mod] = (ast.parse(src), src)
    words = word_counts(trees)
    sigs = split_signatures(trees)
    reaches = private_reaches(trees, mods)
    longs = long_functions(trees)
    boots = boot_literals(trees, mods)
    cleaners = json_cleaners(trees, mods)
    folders = folder_literals(trees, mods)
    print(f"code health of {args.src} ({len(mods)} modules)")
    print("ambiguous words (uses in code, prose excluded):")
    for w, what in WORDS.items():
        print(f"  {w:<18} {words.get(w, 0):>4}   {what}")
    rows = [("signatures with a loose held-out split (holdout_top_frac/holdout_top/holdout_above/cutoff)", sigs),
            ("private cross-module reaches (within clipscale)", [r for r in reaches if _internal(r)]),
            ("private reaches into third-party modules", [r for r in reaches if not _internal(r)]),
            (f"functions over {MAX_LINES} lines", [f"{name} ({n} lines)" for n, name in longs]),
            ("bootstrap literals outside laws/defaults.py", boots),
            ("JSON cleaners besides _io.json_clean", [c for c in cleaners if c not in NOT_JSON]),
            ("  matched but not JSON (reason)", [f"{c}: {NOT_JSON[c]}" for c in cleaners if c in NOT_JSON]),
            ("folder-name literals outside their home module", folders)]
    for title, items in rows:
        print(f"{title}: {len(items)}")
        if args.list or len(items) <= 12:
            for item in items:
                print(f"    {item}")


if __name__ == "__main__":
    sys.exit(main())
