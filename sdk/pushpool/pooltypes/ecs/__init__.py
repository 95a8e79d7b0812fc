"""The ``ecs:push`` pool type."""
