"""The cache reader's circuit breaker, on a clock the test moves."""

from cache.breaker import Breaker


def test_opens_after_consecutive_failures_and_lets_one_trial_through_after_the_cooldown():
    now = [0.0]
    breaker = Breaker(threshold=3, cooldown=5, clock=lambda: now[0])
    breaker.failure()
    breaker.success()  # a success in between resets the count
    breaker.failure()
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 4.9
    assert not breaker.allow()
    now[0] = 5.0
    assert breaker.state == "half-open" and breaker.allow()
    breaker.failure()  # the trial failed: open for another cooldown
    assert breaker.state == "open"
    now[0] = 10.0
    breaker.success()
    assert breaker.state == "closed" and breaker.failures == 0
