"""Developer tools: generators that read the services' code (never part of the operator CLI)."""
