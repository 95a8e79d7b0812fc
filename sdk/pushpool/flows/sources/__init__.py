"""Where flow code lives."""
