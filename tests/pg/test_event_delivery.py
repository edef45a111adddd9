"""Channel events pushed by the running service on PostgreSQL: orders taken, cancelled and
shipped while the receiver is down, then answering 500; every event arrives signed, in order
per order, with the same id and body on every try."""

from pathlib import Path

from tests.system.test_event_delivery import deliver_through_an_outage


def test_every_event_arrives_on_postgresql_after_the_receiver_was_down(
    empty_database_url: str, tmp_path: Path
) -> None:
    deliver_through_an_outage(tmp_path, empty_database_url)
