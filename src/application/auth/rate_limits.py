"""The API reference's brute-force limits."""

from __future__ import annotations

from domain.ports.rate_limiter import RateLimit

LOGIN_PER_IP = RateLimit("login-ip", limit=5, period_seconds=60)
LOGIN_PER_EMAIL = RateLimit("login-email", limit=10, period_seconds=3600)
FORGOT_PASSWORD_PER_IP = RateLimit("forgot-password-ip", limit=5, period_seconds=60)
FORGOT_PASSWORD_PER_EMAIL = RateLimit("forgot-password-email", limit=3, period_seconds=3600)
RESET_PASSWORD_PER_IP = RateLimit("reset-password-ip", limit=5, period_seconds=60)
RESET_PASSWORD_PER_EMAIL = RateLimit("reset-password-email", limit=3, period_seconds=3600)
