"""Fuzzing: generated scenarios (``strategies``), bit-parity and invariant checks (``checks``), the command
(``run``) and the regression files failures become (``regressions``)."""
