"""Pure domain model: entities, value objects, rules and ports. No I/O, no frameworks."""
