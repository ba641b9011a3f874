"""Units and conversions.  Time is in days unless a name says hours."""

HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365.0


def per_hour_to_per_day(rate_per_hour: float, hours_per_day: float) -> float:
    """Convert a rate per operating hour into a rate per calendar day."""
    return rate_per_hour * hours_per_day
