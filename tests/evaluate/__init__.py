"""Tests of clipscale.evaluate (a package, so test file names may repeat in other stages)."""
