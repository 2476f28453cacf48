"""The bot state machine:

stopped -> pending -> running <-> waiting
running | waiting -> paused -> pending
any -> stopped
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.bots.bot_state import ALLOWED_TRANSITIONS, BotState, BotStatus
from domain.bots.errors import IllegalTransition
from domain.errors import Conflict

S = BotStatus
# The edges of the documented state machine, written out independently of the code.
# "any -> stopped" is read as every other state; stopping a stopped bot is the no-op
# `stop()` (not a transition).
DOCUMENTED_EDGES: frozenset[tuple[BotStatus, BotStatus]] = frozenset(
    {
        (S.STOPPED, S.PENDING),
        (S.PENDING, S.RUNNING),
        (S.RUNNING, S.WAITING),
        (S.WAITING, S.RUNNING),
        (S.RUNNING, S.PAUSED),
        (S.WAITING, S.PAUSED),
        (S.PAUSED, S.PENDING),
    }
    | {(state, S.STOPPED) for state in BotStatus if state is not S.STOPPED}
)
ACTIVE = {S.PENDING, S.RUNNING, S.WAITING}
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def new_bot() -> BotState:
    return BotState(bot_config_id=1, user_id=1, last_updated_at=T0)


def test_the_code_allows_exactly_the_transitions_of_the_spec() -> None:
    code_edges = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert code_edges == DOCUMENTED_EDGES


def test_the_states_reachable_from_stopped_are_exactly_the_five() -> None:
    seen = {S.STOPPED}
    frontier = [S.STOPPED]
    while frontier:
        current = frontier.pop()
        for target in BotStatus:
            bot = new_bot()
            bot.status = current
            try:
                bot.transition(target, T0)
            except IllegalTransition:
                continue
            if bot.status not in seen:
                seen.add(bot.status)
                frontier.append(bot.status)
    assert seen == set(BotStatus)
    assert {s.value for s in seen} == {"stopped", "pending", "running", "waiting", "paused"}


def test_a_new_bot_is_stopped_and_inactive() -> None:
    bot = new_bot()
    assert bot.status is S.STOPPED
    assert not bot.is_active


def test_an_illegal_transition_is_a_409_conflict_with_the_allowed_targets() -> None:
    bot = new_bot()
    with pytest.raises(IllegalTransition) as raised:
        bot.transition(S.RUNNING, T0 + timedelta(seconds=1))
    assert isinstance(raised.value, Conflict)
    assert raised.value.details == {
        "status": "stopped",
        "requested": "running",
        "allowed": ["pending"],
    }
    assert bot.status is S.STOPPED
    assert bot.last_updated_at == T0


def test_the_full_life_cycle_of_the_spec() -> None:
    bot = new_bot()
    now = T0
    for command, expected in [
        ("start", S.PENDING),
        ("running", S.RUNNING),
        ("waiting", S.WAITING),
        ("running", S.RUNNING),
        ("pause", S.PAUSED),
        ("start", S.PENDING),
        ("running", S.RUNNING),
        ("waiting", S.WAITING),
        ("pause", S.PAUSED),
        ("stop", S.STOPPED),
    ]:
        now += timedelta(minutes=1)
        if command == "start":
            bot.start(now)
        elif command == "pause":
            bot.pause(now)
        elif command == "stop":
            bot.stop(now)
        else:
            bot.transition(BotStatus(command), now)
        assert bot.status is expected
        assert bot.last_updated_at == now


@pytest.mark.parametrize("state", list(BotStatus))
def test_stop_is_allowed_from_every_state(state: BotStatus) -> None:
    bot = new_bot()
    bot.status = state
    bot.stop(T0 + timedelta(seconds=1))
    assert bot.status is S.STOPPED


def test_start_clears_the_last_error_and_stop_with_error_keeps_a_bounded_message() -> None:
    bot = new_bot()
    bot.start(T0)
    bot.stop_with_error("x" * 5000, T0)
    assert bot.status is S.STOPPED
    assert bot.last_error_message == "x" * 1000
    bot.start(T0)
    assert bot.last_error_message is None


commands = st.one_of(
    st.just(("start", None)),
    st.just(("stop", None)),
    st.just(("pause", None)),
    st.tuples(st.just("transition"), st.sampled_from(list(BotStatus))),
)


@given(sequence=st.lists(commands, max_size=40))
def test_any_command_sequence_follows_the_spec_or_raises_leaving_the_state_unchanged(
    sequence: list[tuple[str, BotStatus | None]],
) -> None:
    bot = new_bot()
    now = T0
    for name, target in sequence:
        now += timedelta(seconds=1)
        before, stamp = bot.status, bot.last_updated_at
        wanted = {"start": S.PENDING, "stop": S.STOPPED, "pause": S.PAUSED}.get(name, target)
        assert wanted is not None
        if name == "stop" and before is S.STOPPED:
            bot.stop(now)  # a no-op
            assert (bot.status, bot.last_updated_at) == (S.STOPPED, stamp)
            continue
        try:
            if name == "transition":
                bot.transition(wanted, now)
            else:
                getattr(bot, name)(now)
        except IllegalTransition:
            assert (before, wanted) not in DOCUMENTED_EDGES
            assert (bot.status, bot.last_updated_at) == (before, stamp)
        else:
            assert (before, wanted) in DOCUMENTED_EDGES
            assert (bot.status, bot.last_updated_at) == (wanted, now)
        assert bot.is_active is (bot.status in ACTIVE)


class BotStateMachine(RuleBasedStateMachine):
    """Random commands against a real BotState and a model of the documented state machine."""

    def __init__(self) -> None:
        super().__init__()
        self.bot = new_bot()
        self.model = S.STOPPED
        self.now = T0

    def _tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def _attempt(self, target: BotStatus, action: str) -> None:
        now = self._tick()
        stamp = self.bot.last_updated_at
        allowed = (self.model, target) in DOCUMENTED_EDGES
        if allowed:
            if action == "transition":
                self.bot.transition(target, now)
            else:
                getattr(self.bot, action)(now)
            self.model = target
            assert self.bot.last_updated_at == now
        else:
            command = (
                (lambda: self.bot.transition(target, now))
                if action == "transition"
                else (lambda: getattr(self.bot, action)(now))
            )
            with pytest.raises(IllegalTransition):
                command()
            assert self.bot.last_updated_at == stamp

    @rule()
    def start(self) -> None:
        self._attempt(S.PENDING, "start")

    @rule()
    def pause(self) -> None:
        self._attempt(S.PAUSED, "pause")

    @rule(status=st.sampled_from(list(BotStatus)))
    def transition(self, status: BotStatus) -> None:
        self._attempt(status, "transition")

    @rule()
    def stop(self) -> None:
        self.bot.stop(self._tick())  # never raises
        self.model = S.STOPPED

    @rule(message=st.text(max_size=1200))
    def stop_with_error(self, message: str) -> None:
        self.bot.stop_with_error(message, self._tick())
        self.model = S.STOPPED
        assert self.bot.last_error_message == message[:1000]

    @invariant()
    def status_matches_the_model(self) -> None:
        assert self.bot.status is self.model
        assert self.bot.status in set(BotStatus)
        assert self.bot.is_active is (self.model in ACTIVE)


BotStateMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30)
TestBotStateMachine = BotStateMachine.TestCase
