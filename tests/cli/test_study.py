"""`clipscale study`: its choices and defaults are the study spec's (study/spec.py), never re-typed."""
from __future__ import annotations

import argparse

from clipscale.cli.study import register
from clipscale.study.spec import LAUNCHERS, LaunchSettings


def _actions(sub_command: str) -> dict:
    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    study = sub.choices["study"]
    commands = next(a for a in study._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in commands.choices[sub_command]._actions}


def test_launcher_choices_are_the_specs():
    assert tuple(_actions("run")["launcher"].choices) == LAUNCHERS


def test_worker_threads_default_is_the_launch_settings_default():
    assert _actions("worker")["threads"].default == LaunchSettings().threads
