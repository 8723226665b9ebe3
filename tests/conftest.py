"""Shared test settings: the hypothesis profile every test runs with."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "acnsd", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("acnsd")
