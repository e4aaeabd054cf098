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
