"""Errors a user can cause and fix. The CLI prints them as one line, never a traceback."""


class UserError(Exception):
    """A mistake or an unmet precondition the user can act on (bad input, missing setting,
    unreachable service). The message must be one line and say what to do."""


class ServiceUnavailable(UserError):
    """A service the step needs (Postgres, Redis, a vendor API) does not answer."""
