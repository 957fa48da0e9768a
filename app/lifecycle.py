"""Named states with guarded transitions.

A lifecycle is a ``StrEnum`` plus a table of the moves it allows. ``Lifecycle.check``
raises ``InvalidTransition`` naming what was expected, so an illegal move can never be
written silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from app.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


class Lifecycle(Generic[S]):
    def __init__(self, name: str, moves: Mapping[S, Iterable[S]]) -> None:
        self.name = name
        self.moves: dict[S, frozenset[S]] = {k: frozenset(v) for k, v in moves.items()}

    def allowed(self, current: S) -> frozenset[S]:
        return self.moves.get(current, frozenset())

    def can(self, current: S, target: S) -> bool:
        return target in self.allowed(current)

    def check(self, current: S, target: S) -> S:
        """Return ``target`` if ``current → target`` is allowed, else raise."""
        if not self.can(current, target):
            expected = ", ".join(sorted(self.allowed(current))) or "nothing (final state)"
            raise InvalidTransition(
                f"{self.name} cannot go from {current} to {target}; from {current} it may go to: "
                f"{expected}"
            )
        return target
