"""Configuration errors, low in the import graph so config validation and models share them."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def reject_unknown_keys(where: str, given, allowed) -> None:
    """Raise ConfigError naming the first key of ``given`` not in ``allowed``, and the allowed.

    ``where`` is the keys' path in the config (``models.enformer``) or, where the caller
    does not know it, what they configure (``tiny Enformer``).
    """
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; allowed: {', '.join(sorted(allowed))}"
        )
