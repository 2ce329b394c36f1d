"""Chat capabilities, one module each. Each has register(registry); the order here is
the order 帮助 lists them in."""

from __future__ import annotations

from bot.registry import CommandRegistry
from handlers import help as help_

MODULES = [help_]


def register_all(registry: CommandRegistry) -> None:
    for module in MODULES:
        module.register(registry)
