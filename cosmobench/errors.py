"""The one error type users see.

Every user mistake (bad spec, malformed samples, unknown track, truncated file...) raises
:class:`CosmobenchError` with a sentence that says what is wrong *and what to do*. The CLI prints
``error: <message>`` without a traceback and exits 2.
"""


class CosmobenchError(Exception):
    """A user-facing error: the message says what is wrong and what to do about it."""
