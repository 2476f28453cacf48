"""Ports: the interfaces the domain and application need from the outside world."""
