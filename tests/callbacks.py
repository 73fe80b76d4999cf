"""Learning callbacks shared by the tests."""


def interrupt_at(n):
    """A callback that raises KeyboardInterrupt (a Ctrl-C) at its ``n``-th call."""
    calls = []

    def callback(*args):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
    return callback
