"""benchmarks/training_speed.py: the training rate is the fastest of 3 windows of steps."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import training_speed


def test_the_rate_comes_from_the_fastest_window_of_consecutive_steps():
    # Six timed steps: windows of two steps take 2 s, 3 s and 4 s.
    step_ends = [0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0]
    assert training_speed.best_window_seconds(step_ends) == pytest.approx(1.0)
    # A slow step inside the first window moves the best to the second.
    step_ends = [0.0, 4.0, 5.0, 6.0, 7.5, 9.0, 11.0]
    assert training_speed.best_window_seconds(step_ends) == pytest.approx(1.25)


def test_too_few_steps_for_three_windows_is_an_error():
    with pytest.raises(ValueError, match="2 timed steps cannot make 3 windows"):
        training_speed.best_window_seconds([0.0, 1.0, 2.0])
