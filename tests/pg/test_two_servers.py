"""Two app servers on one PostgreSQL database, taking orders for the same stock at once."""

from tests.system.test_order_load import hammer


def test_two_app_servers_never_oversell_or_double_an_order(empty_database_url: str) -> None:
    hammer(empty_database_url, servers=2)
