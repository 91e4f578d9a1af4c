"""Problems found in a scenario file, reported together.

Reading and compiling a scenario never stops at the first mistake: each check adds a
:class:`Problem` (the file, the key path such as ``intervention[2].road``, what was wrong and
how to fix it) to a :class:`Problems`, and :meth:`Problems.raise_if_any` raises one
:class:`ScenarioError` that lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.errors import TwinError

__all__ = ["Problem", "Problems", "ScenarioError"]


@dataclass(frozen=True)
class Problem:
    """One mistake in a scenario file.

    Attributes
    ----------
    file
        The file (a path, or a library name such as ``hue/festival``).
    key
        The key path (``scenario.window``, ``emergency.units``, ``intervention[2].road``).
    message
        What was wrong and how to fix it.
    """

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}, {self.key}: {self.message}"


class ScenarioError(TwinError, ValueError):
    """A scenario file has problems; :attr:`problems` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            files = sorted({p.file for p in self.problems})
            text = f"{len(self.problems)} problems in {', '.join(files)}:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(text)


@dataclass
class Problems:
    """A collector of the problems of one file."""

    file: str
    found: list[Problem] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        """Note a problem at ``key``."""
        self.found.append(Problem(self.file, key, message))

    def extend(self, other: Problems) -> None:
        """Take over another collector's problems."""
        self.found.extend(other.found)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        """Raise one :class:`ScenarioError` with every problem noted, if any."""
        if self.found:
            raise ScenarioError(self.found)
