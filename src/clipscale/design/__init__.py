"""Experimental design: which runs to train next so that a scaling law's prediction at a target
compute is pinned down at the least cost (issue 24).

`decide(candidates, results, target_compute=..., budget=...) -> Decision` is the pure decision a
live study and `clipscale design replay` both call; `replay` scores strategies (adaptive, random,
full) on a finished results table. It sits below `study` and above `laws`: it fits laws, and
nothing below it imports it.
"""
from __future__ import annotations

from clipscale.design.candidates import Candidate
from clipscale.design.law import DEFAULT_METHOD
from clipscale.design.strategy import Decision, DesignSettings, check_design, decide, seed_cost, seed_design

__all__ = ["Candidate", "Decision", "DesignSettings", "DEFAULT_METHOD", "check_design", "decide", "seed_cost",
           "seed_design"]
