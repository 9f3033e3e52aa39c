"""Run the requests of one snapshot at once; the first failure cancels the rest and is raised as is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, ParamSpec, TypeVar

import anyio

from feeds.errors import BadRequestError

T = TypeVar("T")
P = ParamSpec("P")


class Slot(Generic[T]):
    """The result of one job, readable once the batch has run."""

    def __init__(self) -> None:
        self._value: T
        self._filled = False

    @property
    def value(self) -> T:
        if not self._filled:
            raise RuntimeError("the batch has not run yet")
        return self._value

    def fill(self, value: T) -> None:
        self._value = value
        self._filled = True


class Batch:
    """Jobs added with `add` run concurrently in one anyio task group when `run` is awaited.

    anyio raises an ExceptionGroup; callers want the FeedError itself, so `run` unwraps it. A
    BadRequestError (unknown symbol) wins over other failures: it explains them.
    """

    def __init__(self) -> None:
        self._jobs: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def add(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> Slot[T]:
        slot: Slot[T] = Slot()

        async def job() -> None:
            slot.fill(await fn(*args, **kwargs))

        self._jobs.append(job)
        return slot

    async def run(self) -> None:
        try:
            async with anyio.create_task_group() as group:
                for job in self._jobs:
                    group.start_soon(job)
        except BaseExceptionGroup as failed:
            raise _first(failed) from None


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves = list(_leaves(group))
    for wanted in (BadRequestError, Exception):
        for leaf in leaves:
            if isinstance(leaf, wanted):
                return leaf
    return group  # only BaseExceptions (KeyboardInterrupt, SystemExit): leave them grouped


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
