"""A Ctrl-C that Numba wraps in a SystemError is given back as KeyboardInterrupt."""
import pytest

from cdl.utils.interrupt import interrupts_as_keyboard_interrupt, is_interrupt


def _wrapped_interrupt():
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as cause:
        raise SystemError("returned a result with an exception set") from cause


def test_wrapped_interrupt_is_recognised():
    with pytest.raises(SystemError) as info:
        _wrapped_interrupt()
    assert is_interrupt(info.value)
    assert not is_interrupt(SystemError("unrelated"))
    with pytest.raises(KeyboardInterrupt):
        with interrupts_as_keyboard_interrupt():
            _wrapped_interrupt()
    with pytest.raises(SystemError, match="unrelated"):
        with interrupts_as_keyboard_interrupt():
            raise SystemError("unrelated")
