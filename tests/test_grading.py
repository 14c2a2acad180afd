"""haiend.grading: a check raises on a stub and on a wrong answer, naming both, and passes a right one."""

from __future__ import annotations

import numpy as np
import pytest

from haiend import grading, kernels, lab
from haiend.grading import ExerciseFailed, ExerciseIncomplete, ExerciseWrong

TRIAD = kernels.get("stream.triad")
SMALL = (1000,)


def stub(b, c, s, out):
    # not written yet
    ...


def documented_stub(b, c, s, out):
    """Only a docstring so far."""
    ...


def written(b, c, s, out):
    return np.add(b, s * c, out=out)


def forgets_the_scalar(b, c, s, out):
    out[:] = b + c
    return out


def forgets_to_return(b, c, s, out):
    np.add(b, s * c, out=out)


def returns_a_slice(b, c, s, out):
    return np.add(b, s * c, out=out)[:-1]


def test_is_stub_tells_an_unwritten_function_from_a_written_one():
    assert grading.is_stub(stub)
    assert grading.is_stub(documented_stub)

    def only_a_docstring(b, c, s, out):
        """Nothing else."""

    assert grading.is_stub(only_a_docstring)
    assert not grading.is_stub(written)
    assert not grading.is_stub(print)  # no source: not a stub, so it is run and checked
    numba = pytest.importorskip("numba", reason="numba is needed to test a jitted stub: pip install numba")
    assert grading.is_stub(numba.njit(stub))  # a dispatcher is judged by its Python function


def test_a_stub_raises_incomplete_naming_the_exercise_and_the_function():
    with pytest.raises(ExerciseIncomplete) as caught:
        grading.check_exercise(TRIAD, stub, TRIAD.make_inputs(SMALL), exercise="stream-blocked-triad")
    message = str(caught.value)
    assert message.startswith("exercise stream-blocked-triad: stub is still `...`")
    assert "write its body in the exercise cell" in message
    assert caught.value.exercise == "stream-blocked-triad"
    assert isinstance(caught.value, ExerciseFailed) and isinstance(caught.value, AssertionError)


def test_a_wrong_answer_raises_with_the_error_and_the_tolerance():
    with pytest.raises(ExerciseWrong) as caught:
        grading.check_exercise(TRIAD, forgets_the_scalar, exercise="triad")
    message = str(caught.value)
    tolerance = TRIAD.tolerance(np.float64)
    assert message.startswith("exercise triad: forgets_the_scalar is wrong at n = ")
    assert TRIAD.size_label(TRIAD.quick_size) in message  # the lab's size (HAIEND_SIZE unset: quick)
    assert f"> tolerance {tolerance:.0e}" in message and "relative error" in message


def test_a_result_not_returned_or_of_the_wrong_shape_is_wrong():
    inputs = TRIAD.make_inputs(SMALL)
    with pytest.raises(ExerciseWrong, match="forgets_to_return returned None: end it with `return out`"):
        grading.check_exercise(TRIAD, forgets_to_return, inputs, exercise="triad")
    with pytest.raises(ExerciseWrong, match=r"shape \(999,\), the reference has shape \(1000,\)"):
        grading.check_exercise(TRIAD, returns_a_slice, inputs, exercise="triad")


def test_a_right_answer_returns_the_passing_check(capsys):
    check = grading.check_exercise("stream.triad", written, TRIAD.make_inputs(SMALL))
    assert isinstance(check, kernels.Check) and check.passed
    assert capsys.readouterr().out.startswith("written: correct")


def test_the_exercise_defaults_to_the_function_name():
    with pytest.raises(ExerciseIncomplete, match=r"^exercise stub: stub is still"):
        grading.check_exercise(TRIAD, stub, TRIAD.make_inputs(SMALL))


def test_lab_re_exports_the_grading_functions():
    assert lab.check_exercise is grading.check_exercise and lab.is_stub is grading.is_stub


def test_expect_written_names_the_first_stub_or_placeholder_value():
    grading.expect_written("x", written, value=3)  # nothing missing: no error
    with pytest.raises(ExerciseIncomplete, match="^exercise x: stub is still `...`"):
        grading.expect_written("x", written, stub, value=3)
    with pytest.raises(ExerciseIncomplete, match="^exercise x: `value` is still `...`: replace it"):
        grading.expect_written("x", written, value=...)


def test_expect_raises_wrong_with_the_message():
    grading.expect("x", True, "never shown")
    with pytest.raises(ExerciseWrong, match="^exercise x: the batch is 4, not 1$"):
        grading.expect("x", False, "the batch is 4, not 1")


def test_expect_nonempty_refuses_what_all_would_accept():
    assert grading.expect_nonempty("x", iter([1, 2]), "rows") == [1, 2]
    assert all([])  # why this helper exists
    with pytest.raises(ExerciseWrong, match="^exercise x: there are no MPI results"):
        grading.expect_nonempty("x", [], "MPI results")


def test_expect_close_states_the_error_and_tolerance():
    assert grading.expect_close("x", "the share", 0.5, 0.5) == 0.0
    assert grading.expect_close("x", "the share", 0.0, 0.0) == 0.0
    with pytest.raises(ExerciseWrong) as caught:
        grading.expect_close("x", "`dot_gflops`", 1.03, 1.0, rtol=1e-12)
    assert str(caught.value) == (
        "exercise x: `dot_gflops` is wrong: 1.03 instead of 1 (relative error 3.0e-02 > tolerance 1e-12)."
    )
    with pytest.raises(ExerciseWrong, match="is 'a', not a number"):
        grading.expect_close("x", "the share", "a", 1.0)
    with pytest.raises(ExerciseWrong, match="nan instead of 1"):
        grading.expect_close("x", "the share", float("nan"), 1.0, atol=1.0)
