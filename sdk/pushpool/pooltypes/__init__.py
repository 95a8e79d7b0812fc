"""Work pool types."""
