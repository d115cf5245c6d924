"""The one error type users see.

Every user mistake (bad spec, malformed samples, unknown track, truncated file...) raises
:class:`CosmobenchError` with a sentence that says what is wrong *and what to do*. The CLI prints
``error: <message>`` without a traceback and exits 2.

It derives from :class:`ValueError` as well, so library code that guards bad input with
``except ValueError`` also catches cosmobench's refusals.
"""


class CosmobenchError(ValueError):
    """A user-facing error: the message says what is wrong and what to do about it."""
