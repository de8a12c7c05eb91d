"""Checks of the Azure deployment against what runs it, not only against its own names. Each check takes
the parsed Bicep files and returns the problems it finds, each a sentence naming the file and the value
(empty: the files are right)."""

from __future__ import annotations

from tests.support.azure_checks.access import redis_policy_problems, role_problems, scope_problems
from tests.support.azure_checks.files import AzureFiles, Mutation
from tests.support.azure_checks.metadata import RUNTIME, declared, metadata_problems
from tests.support.azure_checks.wiring import flags_problems, placeholder_problems, wiring_problems

CHECKS = [
    metadata_problems,
    wiring_problems,
    role_problems,
    redis_policy_problems,
    scope_problems,
    flags_problems,
    placeholder_problems,
]


def all_problems(files: AzureFiles) -> list[str]:
    return [problem for check in CHECKS for problem in check(files)]


__all__ = ["CHECKS", "RUNTIME", "AzureFiles", "Mutation", "all_problems", "declared"]
