"""Use cases: one per user intent. They talk to domain objects and ports only."""
