"""The one error type of the model layer."""


class ModelError(ValueError):
    """A value that cannot stand for a pose, a face, a hand or a profile; the message says why."""
