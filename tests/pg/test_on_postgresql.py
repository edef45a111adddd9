"""Every database test of tests/api, collected again here so tests/pg/conftest.py points it at PostgreSQL."""

from tests.api.test_barcodes import *  # noqa: F403
from tests.api.test_catalog import *  # noqa: F403
from tests.api.test_concurrency import *  # noqa: F403
from tests.api.test_database import *  # noqa: F403
from tests.api.test_demo import *  # noqa: F403
from tests.api.test_floor import *  # noqa: F403
from tests.api.test_import import *  # noqa: F403
from tests.api.test_login import *  # noqa: F403
from tests.api.test_order_load import *  # noqa: F403
from tests.api.test_orders import *  # noqa: F403
from tests.api.test_pack_station import *  # noqa: F403
from tests.api.test_packing import *  # noqa: F403
from tests.api.test_pick_flow import *  # noqa: F403
from tests.api.test_picking import *  # noqa: F403
from tests.api.test_printing import *  # noqa: F403
from tests.api.test_returns import *  # noqa: F403
from tests.api.test_security import *  # noqa: F403
from tests.api.test_shipments import *  # noqa: F403
from tests.api.test_stock import *  # noqa: F403
from tests.api.test_webhook import *  # noqa: F403
