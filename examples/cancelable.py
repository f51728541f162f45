"""``cancelable_parallel``: the first failure cancels the others.

Three "critical operations" share a :class:`bigopool.Context`. The second
fails after 100 ms; the other two notice the cancellation at their next
check and stop early instead of running for their full second. The whole
call is also bounded by a parent context with a 5-second deadline.

    python examples/cancelable.py
"""

# What tests/test_examples.py checks the output for (one regex a line):
# expect: ^1 error: operation 2 lost its database connection$
# expect: ^Stopped early: operation 1, operation 3$

from __future__ import annotations

import time

from bigopool import Context, cancelable_parallel

stopped_early: list[str] = []


def long_operation(name: str, ctx: Context) -> None:
    """Work in 50 ms steps for a second, checking the context between steps."""
    for _ in range(20):
        if ctx.wait(0.05):  # sleeps 50 ms, or less if cancelled meanwhile
            stopped_early.append(name)
            ctx.raise_if_cancelled()
    print(f"{name} finished")


def critical_operation_1(ctx: Context) -> None:
    long_operation("operation 1", ctx)


def critical_operation_2(ctx: Context) -> None:
    time.sleep(0.1)
    raise ConnectionError("operation 2 lost its database connection")


def critical_operation_3(ctx: Context) -> None:
    long_operation("operation 3", ctx)


def main() -> None:
    parent = Context(timeout=5.0)
    started = time.perf_counter()

    errors = cancelable_parallel(
        critical_operation_1,
        critical_operation_2,
        critical_operation_3,
        context=parent,
    )

    elapsed = time.perf_counter() - started
    # Only the real failure is reported: the Cancelled raised by the two that
    # stopped early is its consequence, not a second error.
    print(f"{len(errors)} error: {errors}")
    print(f"Stopped early: {', '.join(sorted(stopped_early))}")
    print(f"Took {elapsed:.2f} s instead of 1 s")


if __name__ == "__main__":
    main()
