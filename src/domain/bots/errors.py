from __future__ import annotations

from domain.errors import Conflict, NotFound


class BotConfigNotFound(NotFound):
    message = "Bot configuration not found"


class BotStateNotFound(NotFound):
    message = "Bot state not found"


class TradeNotFound(NotFound):
    message = "Trade not found"


class IllegalTransition(Conflict):
    message = "Illegal bot state transition"


class BotIsRunning(Conflict):
    message = "The bot is running"


class StaleBotState(Conflict):
    message = "The bot changed meanwhile; read it again and retry"
