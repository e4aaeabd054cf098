"""Budget strings: accepted forms give seconds, others raise one typed error naming the forms."""

import pytest

from clipscale.errors import UserInputError
from clipscale.study.budget import parse_budget


@pytest.mark.parametrize("text, seconds", [
    ("600", 600.0), ("600s", 600.0), ("10m", 600.0), ("1.5h", 5400.0), ("2h", 7200.0),
    (" 90S ", 90.0), (45, 45.0), (0.5, 0.5),
])
def test_accepted_forms_give_seconds(text, seconds):
    assert parse_budget(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10 minutes", "-5m", "0", "0s", "", "m", "1e3", "inf", True, -1])
def test_rejected_forms_name_the_accepted_ones(text):
    with pytest.raises(UserInputError) as info:
        parse_budget(text)
    message = str(info.value)
    assert "\n" not in message
    assert "'10m'" in message and "'1.5h'" in message


def test_scale_levels_rounds_to_whole_batches():
    from clipscale.study.budget import scale_levels

    assert scale_levels([1000, 4000, 16000], 0.5, 128) == [512, 2048, 7936]
    assert scale_levels([100], 0.01, 64) == [64]  # never below one batch
    with pytest.raises(UserInputError):
        scale_levels([100, 120], 0.1, 64)  # both round to one batch: levels merge


def test_makespan_longest_first():
    from clipscale.study.budget import makespan

    assert makespan([3, 3, 2, 2, 2], 2) == 7  # LPT: [3,2,2] and [3,2]
    assert makespan([5, 1, 1], 1) == 7
    assert makespan([], 2) == 0
    with pytest.raises(UserInputError):
        makespan([1], 0)
