"""The response slot of one outgoing call: the caller parks on it, the reader delivers to it."""

from __future__ import annotations

from typing import Any

import trio

import dnode

__all__ = ["PendingCall"]

_current_task = trio.lowlevel.current_task
_reschedule = trio.lowlevel.reschedule
_wait_task_rescheduled = trio.lowlevel.wait_task_rescheduled
_ABORT_SUCCEEDED = trio.lowlevel.Abort.SUCCEEDED


class PendingCall:
    """The response callback of one outgoing call; it is never run, the reader delivers to it.

    The caller parks its task on it (no `Event`): `deliver` reschedules that task.
    """

    __slots__ = ("barrier", "done", "error", "message", "task", "timed_out")

    def __init__(self) -> None:
        self.done = False
        self.timed_out = False
        self.message: dnode.Message | None = None
        self.error: BaseException | None = None
        self.barrier = 0
        self.task: trio.lowlevel.Task | None = None

    def __call__(self, *args: Any) -> None:  # pragma: no cover - a marker for the scrubber
        raise RuntimeError("response callbacks are delivered by the reader")

    def deliver(self) -> None:
        """Mark the call answered (`message` or `error` set) and wake its caller."""
        self.done = True
        task = self.task
        if task is not None:
            self.task = None
            _reschedule(task)

    def expire(self) -> None:
        """The call's timeout passed (`CallDeadlines`): wake the caller, ignore the answer."""
        if not self.done:
            self.timed_out = True
            self.deliver()

    async def wait(self) -> None:
        """Wait until `deliver` (cancellable: a timeout leaves `done` false)."""
        if not self.done:
            self.task = _current_task()
            await _wait_task_rescheduled(self._abort)

    def _abort(self, raise_cancel: Any) -> trio.lowlevel.Abort:
        self.task = None
        return _ABORT_SUCCEEDED
