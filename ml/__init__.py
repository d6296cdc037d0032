"""ML jobs: read curated tables, write predictions back to the `ml` schema."""
