"""The error the plan raises for configuration that cannot work: one line per problem, so
the user fixes them all in one round (app.py prints each as `error: ...`)."""

from __future__ import annotations


class ConfigError(ValueError):
    """One or more context values are invalid; `problems` holds one line per value."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems
