"""Ways in: the HTTP API, the CLI and the dependency-injector container that wires them."""
